import { MODERN_ERA } from './constants.js'

/**
 * Hand-written checks of the common tools/call request and result shapes,
 * for the 2026-07-28 codec of the SDK release fast-call.ts reads
 * (ONE_VALIDATION_SDK): for what they accept, exactly what the codec's
 * `validateRequest` / `validateResult` ('tools/call') return — the same
 * values, as fresh objects with the keys in the same order — without zod's
 * per-node machinery. Anything else (another era, an unusual key, a
 * `__proto__` own key, a value they do not check) is undefined: the codec
 * decides, with its errors. test/mcp/quick-tool-call.spec.ts compares both
 * on a range of inputs.
 *
 * The schemas mirrored (post-lift dispatch schemas of the 2026-07-28 era):
 * request `z.object({ method: z.literal('tools/call'), params: z.object({
 * _meta: z.looseObject({ progressToken: z.union([z.string(),
 * z.number().int()]).optional() }).optional(), name: z.string(), arguments:
 * z.record(z.string(), z.unknown()).optional(), ...retry keys }).optional() })`
 * (unknown keys stripped); result `z.looseObject({ _meta: …, content:
 * z.array(ContentBlock), structuredContent: z.unknown().optional(), isError:
 * z.boolean().optional() })`, text blocks being `z.object({ type:
 * z.literal('text'), text: z.string(), annotations, _meta })`.
 */

type Accepted = { ok: true; value: unknown }

/** The keys of a tools/call request's params this check knows (the retry keys never reach it). */
const REQUEST_PARAM_KEYS: ReadonlySet<string> = new Set(['name', 'arguments', '_meta'])

/** A JSON object as JSON.parse makes it (zod's records and objects take it as it is). */
function isJsonObject(value: unknown): value is Record<string, unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype &&
    !Object.hasOwn(value, '__proto__')
  )
}

/** `validateRequest('tools/call', request)` of the 2026-07-28 codec, for the common shape; undefined: ask the codec. */
export function quickToolCallRequest(era: string, request: { method: string; params?: unknown }): Accepted | undefined {
  if (era !== MODERN_ERA || request.method !== 'tools/call') return undefined
  const params = request.params
  if (!isJsonObject(params) || typeof params.name !== 'string') return undefined
  for (const key of Object.keys(params)) if (!REQUEST_PARAM_KEYS.has(key)) return undefined
  const out: Record<string, unknown> = {}
  if ('_meta' in params) {
    const meta = params._meta
    if (!isJsonObject(meta)) return undefined
    const copy: Record<string, unknown> = {}
    if ('progressToken' in meta) {
      const token = meta.progressToken
      if (typeof token !== 'string' && !Number.isSafeInteger(token)) return undefined
      copy.progressToken = token
    }
    for (const key of Object.keys(meta)) if (key !== 'progressToken') copy[key] = meta[key]
    out._meta = copy
  }
  out.name = params.name
  if ('arguments' in params) {
    const args = params.arguments
    if (!isJsonObject(args)) return undefined
    const copy: Record<string, unknown> = {}
    for (const key of Object.keys(args)) copy[key] = args[key]
    out.arguments = copy
  }
  return { ok: true, value: { method: 'tools/call', params: out } }
}

/** `validateResult('tools/call', result)` of the 2026-07-28 codec, for text content; undefined: ask the codec. */
export function quickToolCallResult(era: string, result: unknown): Accepted | undefined {
  if (era !== MODERN_ERA || !isJsonObject(result)) return undefined
  let known = 0
  const content = result.content
  if (!Array.isArray(content)) return undefined
  known++
  const blocks: Array<{ type: 'text'; text: string }> = []
  for (const block of content as unknown[]) {
    if (!isJsonObject(block) || block.type !== 'text' || typeof block.text !== 'string') return undefined
    if (Object.keys(block).length !== 2) return undefined
    blocks.push({ type: 'text', text: block.text })
  }
  const out: Record<string, unknown> = { content: blocks }
  if ('structuredContent' in result) {
    known++
    out.structuredContent = result.structuredContent
  }
  if ('isError' in result) {
    const isError = result.isError
    if (typeof isError !== 'boolean') return undefined
    known++
    out.isError = isError
  }
  // `_meta` (its serverInfo is caught, not refused) and any other key: the codec's.
  if (Object.keys(result).length !== known) return undefined
  return { ok: true, value: out }
}
