import type { Tool as McpTool } from '@modelcontextprotocol/server'
import { z } from 'zod'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { MAX_CATALOG_PEERS } from '../constants.js'
import { SYNC_MAX_ANSWER_BYTES } from './constants.js'
import {
  BUCKET_HASH_CHARS,
  bucketOf,
  DIGEST_BUCKETS,
  fromWire,
  type RecordStore,
  type SignedMessage,
  toWire,
  type WireRecord,
  wireRecordSchema
} from './records.js'
import type { CatalogStats } from './types.js'

const log = meshLogger('catalog')

/**
 * Anti-entropy, independent of the transport (the libp2p stream protocol in
 * sync.ts, or a simulated network): two members compare a hash of their
 * record digests; when it differs, the asking side sends what the other
 * lacks and names what it lacks, and gets those records plus the
 * descriptors of their tools (so a newcomer fetches no schema another
 * member already holds). Every record is checked against its author's
 * signature and judged exactly as a gossiped one.
 *
 * 1. hello      → { hash, n, buckets? }   (per-bucket hashes past BUCKETS_FROM records)
 * 2. digest     ← { same: true } | { digest: [[peerId, seq], …], buckets? }
 *                 (with bucket hashes, only the differing buckets' entries)
 * 3. exchange   → { want: [peerId…], push: [record…] }
 * 4. records    ← { records: [record…], descriptors: [tool…] }
 */

/** Past this many records a hello carries per-bucket hashes, so a mismatch costs only its buckets. */
export const BUCKETS_FROM = 256

const peerIdText = z.string().min(1).max(128)
const bucketIndex = z
  .number()
  .int()
  .min(0)
  .max(DIGEST_BUCKETS - 1)
export const helloSchema = z
  .object({
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    n: z.number().int().min(0),
    buckets: z
      .array(z.string().regex(new RegExp(`^[0-9a-f]{${BUCKET_HASH_CHARS}}$`)))
      .length(DIGEST_BUCKETS)
      .optional()
  })
  .strict()
export const digestAnswerSchema = z.union([
  z.object({ same: z.literal(true) }).strict(),
  z
    .object({
      digest: z.array(z.tuple([peerIdText, z.number().int().nonnegative()])).max(2 * MAX_CATALOG_PEERS),
      /** The buckets the digest covers (absent: all of them). */
      buckets: z.array(bucketIndex).max(DIGEST_BUCKETS).optional()
    })
    .strict()
])
export const exchangeSchema = z
  .object({
    want: z.array(peerIdText).max(2 * MAX_CATALOG_PEERS),
    push: z.array(wireRecordSchema).max(2 * MAX_CATALOG_PEERS)
  })
  .strict()
export const recordsAnswerSchema = z
  .object({
    records: z.array(wireRecordSchema).max(2 * MAX_CATALOG_PEERS),
    /** Tool descriptors (MCP Tool objects); each is checked against the hash of its own schemas. */
    descriptors: z.array(z.looseObject({ name: z.string(), inputSchema: z.looseObject({}) })).max(4096)
  })
  .strict()

export type Hello = z.infer<typeof helloSchema>
export type DigestAnswer = z.infer<typeof digestAnswerSchema>
export type Exchange = z.infer<typeof exchangeSchema>
export type RecordsAnswer = z.infer<typeof recordsAnswerSchema>

export interface SyncCoreInit {
  topic: string
  records: RecordStore
  /** Judges and takes one signature-checked record handed on by `from`; true when taken. */
  accept: (from: string, message: SignedMessage) => boolean
  descriptors: { peek(name: string, hash: string): McpTool | undefined; seed(descriptor: McpTool): void }
  stats: CatalogStats
  /** Checks a record's signature (default: gossipsub's StrictSign check, `fromWire`). */
  verify?: (wire: WireRecord, topic: string) => Promise<SignedMessage>
  /** Tools of a held record, with the descriptor this node holds for each, if any (to hand on). */
  toolsOf: (peerId: string) => ReadonlyArray<{ name: string; schemaHash: string; descriptor?: McpTool }>
  now?: () => number
}

/** Bytes a wire record takes in JSON, roughly (base64 fields dominate). */
function wireBytes(wire: WireRecord): number {
  return wire.data.length + wire.sig.length + wire.from.length + (wire.key?.length ?? 0) + 64
}

export class SyncCore {
  readonly #init: SyncCoreInit
  readonly #verify: (wire: WireRecord, topic: string) => Promise<SignedMessage>
  readonly #now: () => number

  constructor(init: SyncCoreInit) {
    this.#init = init
    this.#verify = init.verify ?? fromWire
    this.#now = init.now ?? Date.now
  }

  hello(): Hello {
    const records = this.#init.records
    records.prune(this.#now())
    const hello: Hello = { hash: records.hash(), n: records.size }
    if (records.size >= BUCKETS_FROM) hello.buckets = records.bucketHashes()
    return hello
  }

  answerHello(hello: Hello): DigestAnswer {
    const records = this.#init.records
    records.prune(this.#now())
    if (hello.hash === records.hash()) return { same: true }
    if (hello.buckets == null) return { digest: records.digest() }
    const mine = records.bucketHashes()
    const differing = new Set<number>()
    for (let i = 0; i < DIGEST_BUCKETS; i++) if (hello.buckets[i] !== mine[i]) differing.add(i)
    return { digest: records.digest(differing), buckets: [...differing] }
  }

  /** What to send and ask for, given the other side's digest; undefined when both hold the same. */
  exchange(answer: DigestAnswer): Exchange | undefined {
    if ('same' in answer) return undefined
    const records = this.#init.records
    const theirs = new Map(answer.digest)
    const want: string[] = []
    for (const [peerId, seq] of answer.digest) {
      const mine = records.get(peerId)
      if (mine == null || mine.seq < seq) want.push(peerId)
    }
    const push: WireRecord[] = []
    const covered = answer.buckets == null ? undefined : new Set(answer.buckets)
    let bytes = 0
    for (const record of records.values()) {
      // Buckets the answer left out are equal on both sides.
      if (covered != null && !covered.has(bucketOf(record.peerId))) continue
      const seq = theirs.get(record.peerId)
      if (seq != null && seq >= record.seq) continue
      const wire = toWire(record.message)
      bytes += wireBytes(wire)
      if (bytes > SYNC_MAX_ANSWER_BYTES) break
      push.push(wire)
    }
    return { want, push }
  }

  /** Takes what the asking side pushed, and answers with what it wants. */
  async answerExchange(from: string, exchange: Exchange): Promise<RecordsAnswer> {
    await this.take(from, exchange.push)
    const records: WireRecord[] = []
    const descriptors = new Map<string, McpTool>()
    let bytes = 0
    for (const peerId of exchange.want) {
      const record = this.#init.records.get(peerId)
      if (record == null) continue
      const wire = toWire(record.message)
      bytes += wireBytes(wire)
      if (bytes > SYNC_MAX_ANSWER_BYTES) break
      records.push(wire)
      for (const tool of this.#init.toolsOf(peerId)) {
        const key = `${tool.name}\0${tool.schemaHash}`
        if (descriptors.has(key)) continue
        const descriptor = tool.descriptor ?? this.#init.descriptors.peek(tool.name, tool.schemaHash)
        if (descriptor == null) continue
        const size = JSON.stringify(descriptor).length
        if (bytes + size > SYNC_MAX_ANSWER_BYTES) continue
        bytes += size
        descriptors.set(key, descriptor)
      }
    }
    return { records, descriptors: [...descriptors.values()] }
  }

  /** Seeds the descriptors, then takes the records (each is listed at once when its schemas are known). */
  async finish(from: string, answer: RecordsAnswer): Promise<number> {
    for (const descriptor of answer.descriptors) this.#init.descriptors.seed(descriptor as McpTool)
    return this.take(from, answer.records)
  }

  /** Checks each record's signature and judges it as a gossiped one; returns how many were taken. */
  async take(from: string, wires: readonly WireRecord[]): Promise<number> {
    const { stats, records } = this.#init
    let taken = 0
    for (const wire of wires) {
      // Nothing to check for a record we already hold at this sequence number or later.
      const held = records.get(wire.from)
      if (held != null && held.message.sequenceNumber === BigInt(`0x${wire.seqno}`)) continue
      let message: SignedMessage
      try {
        message = await this.#verify(wire, this.#init.topic)
      } catch (err) {
        stats.syncRecordsRejected++
        log('synced record from %s refused: %s', from, errorMessage(err))
        continue
      }
      if (this.#init.accept(from, message)) {
        stats.syncRecordsReceived++
        taken++
      } else {
        stats.syncRecordsRejected++
      }
    }
    return taken
  }
}
