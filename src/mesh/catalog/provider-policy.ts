import type { Tool as McpTool } from '@modelcontextprotocol/server'
import { TOOL_META_KEY } from '../../mcp/view.js'
import { DEFAULT_TIMEOUT_MS, type RetryPolicy, retryPolicySchema } from '../../tools/meta.js'
import { allEqual } from '../../util/canonical-json.js'
import type { AdvertTool } from '../advert.js'
import type { CatalogTool } from './types.js'

/**
 * Per-provider policy and the merged listing (red-team finding 12).
 *
 * Peers offering one tool name with one schema hash are listed under one
 * name, but the hash covers only the schemas: each provider's description,
 * annotations and `_meta` are its own word. So:
 * - a call's timeout, retry policy and idempotency come from the provider the
 *   call goes to (`providerPolicy`), never from another provider's listing;
 * - a tool described from the (name, hash) cache gets the cached schemas and
 *   nothing else: its metadata comes from its own signed record
 *   (`describedFromRecord`);
 * - the one listing the local model reads (`mergeListing`) shows what all
 *   providers agree on, and a neutral or conservative value where they differ.
 */

/** The policy a call to one provider runs under. */
export interface ProviderPolicy {
  timeoutMs: number
  retry: RetryPolicy
  /** The provider's own `idempotentHint` (false when it did not say, or its listing is not its own). */
  idempotent: boolean
}

const DEFAULT_RETRY: RetryPolicy = retryPolicySchema.parse({})
const LENIENT_RETRY = retryPolicySchema.catch(DEFAULT_RETRY)
/** Parsed once per signed record entry (not per call). */
const policies = new WeakMap<CatalogTool, { advert: AdvertTool; descriptor?: McpTool; policy: ProviderPolicy }>()

/**
 * One provider's policy for its tool: timeout and retry from its own signed
 * record (or, for a direct listing, the record read from its own listing),
 * idempotency from its own listing's annotations. Absent values take the
 * defaults (30 s, no retry, not idempotent).
 */
export function providerPolicy(tool: CatalogTool | undefined): ProviderPolicy {
  if (tool == null) return { timeoutMs: DEFAULT_TIMEOUT_MS, retry: DEFAULT_RETRY, idempotent: false }
  const held = policies.get(tool)
  if (held != null && held.advert === tool.advert && held.descriptor === tool.descriptor) return held.policy
  const policy: ProviderPolicy = {
    timeoutMs: tool.advert.timeoutMs,
    retry: tool.advert.retry != null ? LENIENT_RETRY.parse(tool.advert.retry) : DEFAULT_RETRY,
    idempotent: tool.descriptor?.annotations?.idempotentHint === true
  }
  policies.set(tool, { advert: tool.advert, descriptor: tool.descriptor, policy })
  return policy
}

/** The schemas the (name, hash) cache shares: nothing else of a descriptor crosses between peers. */
export interface ToolSchemas {
  inputSchema: McpTool['inputSchema']
  outputSchema?: McpTool['outputSchema']
}

/**
 * A peer's descriptor built from cached schemas (verified against the hash
 * the peer signed) and the peer's own signed record: no description, title
 * or annotations, since only the peer's own listing could say them.
 */
export function describedFromRecord(advert: AdvertTool, schemas: ToolSchemas): McpTool {
  const described = descriptorFromRecord(advert, schemas)
  fromRecords.add(described)
  return described
}

/** Descriptors built by `describedFromRecord` (rebuilt when the peer's record changes). */
const fromRecords = new WeakSet<McpTool>()

/** Whether a descriptor was built from a record and cached schemas (not the peer's own listing). */
export function isDescribedFromRecord(descriptor: McpTool): boolean {
  return fromRecords.has(descriptor)
}

function descriptorFromRecord(advert: AdvertTool, schemas: ToolSchemas): McpTool {
  const meta: Record<string, unknown> = {
    tags: advert.tags,
    category: advert.category,
    priority: advert.priority,
    timeoutMs: advert.timeoutMs
  }
  if (advert.retry != null) meta.retry = advert.retry
  return {
    name: advert.name,
    inputSchema: schemas.inputSchema,
    ...(schemas.outputSchema != null ? { outputSchema: schemas.outputSchema } : {}),
    _meta: { [TOOL_META_KEY]: meta }
  }
}

/** How the merged listing reads when the providers describe the tool differently. */
export function neutralDescription(name: string, providers: number): string {
  return `${name}: offered with the same schemas by ${providers} mesh peers whose descriptions differ, so none is shown; peer_tools (with a provider's peer ID) shows what each one says.`
}

type Annotations = NonNullable<McpTool['annotations']>

/**
 * Annotations of several providers: readOnlyHint and idempotentHint hold
 * only if every provider says so; destructiveHint and openWorldHint hold if
 * any provider leaves them at MCP's default (true) or says so.
 */
export function mergeAnnotations(all: ReadonlyArray<McpTool['annotations']>): Annotations {
  const merged: Annotations = {
    readOnlyHint: all.every((a) => a?.readOnlyHint === true),
    destructiveHint: all.some((a) => a?.destructiveHint !== false),
    idempotentHint: all.every((a) => a?.idempotentHint === true),
    openWorldHint: all.some((a) => a?.openWorldHint !== false)
  }
  const titles = all.map((a) => a?.title)
  if (titles[0] != null && allEqual(titles)) merged.title = titles[0]
  return merged
}

/**
 * The one listing of a tool several providers offer with the same schemas.
 * Where every provider says the same (description, title, annotations, each
 * `_meta` entry, any other field), that is shown. Where they differ, no
 * provider wins by being seen first: the description is neutral and says how
 * to read each provider's own; annotations merge conservatively; a differing
 * `mcp-mesh/meta` entry (timeout, retry policy, tags...) or other `_meta` or
 * field is left out. Leaving the policy out rather than picking one: the
 * dispatcher applies each provider's own policy to the calls it gets, so
 * any single listed value would misstate the others.
 */
export function mergeListing(name: string, descriptors: readonly McpTool[]): McpTool {
  const first = descriptors[0]
  if (first == null) throw new RangeError('mergeListing needs at least one descriptor')
  if (descriptors.length === 1) return first
  const merged: McpTool = { name: first.name, inputSchema: first.inputSchema }
  if (first.outputSchema != null) merged.outputSchema = first.outputSchema
  const keys = new Set<string>()
  for (const descriptor of descriptors) for (const key of Object.keys(descriptor)) keys.add(key)
  for (const key of ['name', 'inputSchema', 'outputSchema', 'description', 'annotations', '_meta']) keys.delete(key)
  // Any other field (title, icons, execution...) only when every provider says the same.
  for (const key of keys) {
    const values = descriptors.map((d) => (d as Record<string, unknown>)[key])
    if (values[0] !== undefined && allEqual(values)) (merged as Record<string, unknown>)[key] = values[0]
  }
  const descriptions = descriptors.map((d) => d.description)
  if (allEqual(descriptions)) {
    if (first.description != null) merged.description = first.description
  } else {
    merged.description = neutralDescription(name, descriptors.length)
  }
  const annotations = descriptors.map((d) => d.annotations)
  if (allEqual(annotations)) {
    if (first.annotations != null) merged.annotations = first.annotations
  } else {
    merged.annotations = mergeAnnotations(annotations)
  }
  merged._meta = mergeMeta(descriptors.map((d) => d._meta))
  return merged
}

/** `_meta` entries (and `mcp-mesh/meta` fields) that every provider gives alike; the rest left out. */
function mergeMeta(all: ReadonlyArray<McpTool['_meta']>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const keys = new Set<string>()
  for (const meta of all) for (const key of Object.keys(meta ?? {})) keys.add(key)
  for (const key of keys) {
    const values = all.map((meta) => meta?.[key])
    if (key === TOOL_META_KEY) {
      const fields = new Set<string>()
      for (const value of values) for (const field of Object.keys(asRecord(value))) fields.add(field)
      const policy: Record<string, unknown> = {}
      for (const field of fields) {
        const fieldValues = values.map((value) => asRecord(value)[field])
        if (fieldValues[0] !== undefined && allEqual(fieldValues)) policy[field] = fieldValues[0]
      }
      out[key] = policy
    } else if (values[0] !== undefined && allEqual(values)) {
      out[key] = values[0]
    }
  }
  return out
}

function asRecord(value: unknown): Record<string, unknown> {
  return value != null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}
