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
    /**
     * Strictly increasing per sender, and changed only when the signed record
     * changes (its tools, capacity, worker state, addresses, or its expiry on
     * a refresh); older or repeated records are ignored.
     */
    seq: z.number().int().nonnegative(),
    /** When the record was signed (ms since the epoch). */
    ts: z.number().int().nonnegative(),
    /**
     * When the record stops being valid (ms since the epoch): its signer
     * refreshes it well before. A record without one (a legacy advert) is
     * valid for the short legacy window after `ts`.
     */
    exp: z.number().int().nonnegative().optional(),
    /** A leave record: the signer stopped cleanly; its tools are withdrawn at once. */
    leave: z.literal(true).optional(),
    capacity: z.object({ maxConcurrency: z.number().int().min(1) }).strict(),
    /** Legacy: live load is no longer gossiped (it travels on replies and is measured locally). */
    load: z
      .object({ inFlight: z.number().int().min(0), queued: z.number().int().min(0) })
      .strict()
      .optional(),
    /** This peer as a task-queue worker: whether it takes tasks, and how many at once. */
    worker: z
      .object({
        accepting: z.boolean(),
        maxConcurrency: z.number().int().min(0),
        /** Legacy: tasks running at signing time (not part of a record: it changes with load). */
        running: z.number().int().min(0).optional(),
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

/** The signed catalog record of one node (gossiped as the catalog advert). */
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
