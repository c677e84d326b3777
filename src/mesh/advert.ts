import { z } from 'zod'
import { MAX_TOOL_TIMEOUT_MS, priorityNumber, retryPolicySchema, TOOL_NAME_PATTERN } from '../tools/meta.js'
import { canonicalHash } from '../util/canonical-json.js'

export const ADVERT_VERSION = 1
export const MAX_ADVERT_ADDRS = 16
export const MAX_ADVERT_ADDR_CHARS = 512

export const advertToolSchema = z
  .object({
    name: z.string().regex(TOOL_NAME_PATTERN),
    /** sha256 (hex) of the canonical JSON of the tool's input and output schemas. */
    schemaHash: z.string().regex(/^[0-9a-f]{64}$/),
    tags: z.array(z.string().min(1).max(64)).max(32),
    category: z.string().min(1).max(64),
    priority: priorityNumber(),
    /** At most a tool's longest timeout: an owner takes it as a task's timeout, and a worker's timers as theirs. */
    timeoutMs: z.number().int().positive().max(MAX_TOOL_TIMEOUT_MS),
    /** The tool's retry policy, so task owners can apply it before fetching descriptors. */
    retry: retryPolicySchema.optional()
  })
  .strict()

export const advertSchema = z
  .object({
    v: z.literal(ADVERT_VERSION),
    mesh: z.string().min(1).max(64),
    peerId: z.string().min(1).max(128),
    /** Strictly increasing per sender; older or repeated adverts are ignored. */
    seq: z.number().int().nonnegative(),
    ts: z.number().int().nonnegative(),
    capacity: z.object({ maxConcurrency: z.number().int().min(1) }).strict(),
    load: z.object({ inFlight: z.number().int().min(0), queued: z.number().int().min(0) }).strict(),
    /** This peer as a task-queue worker: whether it takes tasks, and how many at once. */
    worker: z
      .object({
        accepting: z.boolean(),
        maxConcurrency: z.number().int().min(0),
        running: z.number().int().min(0),
        tags: z.array(z.string().min(1).max(64)).max(32)
      })
      .strict()
      .optional(),
    tools: z.array(advertToolSchema).max(1024),
    /**
     * The sender's own addresses. A node that learns of a peer from gossip
     * relayed by others has none for it; without them its first dial would
     * wait for a DHT peer lookup (seconds). Signed with the advert, so they
     * are the peer's claims about itself, as identify's listenAddrs are.
     */
    addrs: z.array(z.string().min(1).max(MAX_ADVERT_ADDR_CHARS)).max(MAX_ADVERT_ADDRS).optional()
  })
  .strict()

export type CatalogAdvert = z.infer<typeof advertSchema>
export type AdvertTool = z.infer<typeof advertToolSchema>

/** Hash of a tool's schemas, so peers can tell two tools of one name apart. */
export function schemaHash(inputSchema: unknown, outputSchema: unknown): string {
  return canonicalHash({ inputSchema, outputSchema: outputSchema ?? null })
}

const decoder = new TextDecoder('utf-8', { fatal: true })

/** Parses an advert from gossip bytes; throws with the reason on anything malformed. */
export function decodeAdvert(data: Uint8Array): CatalogAdvert {
  return advertSchema.parse(JSON.parse(decoder.decode(data)))
}

export function encodeAdvert(advert: CatalogAdvert): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(advert))
}
