import { createHash } from 'node:crypto'
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Message } from '@libp2p/gossipsub'
import { RPC } from '@libp2p/gossipsub/message'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { z } from 'zod'
import { errorMessage } from '../../util/errors.js'
import { InvalidAdvertError } from '../errors.js'

/** Buckets of the digest (by author): a large catalog's digests travel per differing bucket. */
export const DIGEST_BUCKETS = 64
/** Hex characters of a bucket hash (64 bits: a collision only delays a repair by a round). */
export const BUCKET_HASH_CHARS = 16

/** The digest bucket of an author: its peer ID hashed (IDs share their leading characters). */
export function bucketOf(peerId: string): number {
  let h = 0
  for (let i = 0; i < peerId.length; i++) h = (h * 31 + peerId.charCodeAt(i)) >>> 0
  return h % DIGEST_BUCKETS
}

/** gossipsub's signature domain: the signature covers "libp2p-pubsub:" + the protobuf message. */
const SIGN_PREFIX = new TextEncoder().encode('libp2p-pubsub:')

/** A signed gossipsub message of the catalog topic, as the catalog keeps and forwards it. */
export type SignedMessage = Extract<Message, { type: 'signed' }>

/**
 * One node's record as held for anti-entropy: the signed gossipsub message
 * exactly as its author published it, so any member can hand it on and the
 * receiver checks the author's signature itself (no trust in the relayer).
 */
export interface StoredRecord {
  peerId: string
  seq: number
  /** Effective expiry (ms since the epoch): the record's `exp`, or the legacy window. */
  exp: number
  leave: boolean
  message: SignedMessage
  /**
   * False while this node holds the record only from anti-entropy, which
   * does not relay: its first gossip copy is then relayed, not ignored as a
   * replay (see AdvertReceiver.validate).
   */
  relayed?: boolean
}

/** A signed record on the sync wire: the gossipsub envelope's fields, base64. */
export const wireRecordSchema = z
  .object({
    from: z.string().min(1).max(128),
    seqno: z.string().regex(/^[0-9a-f]{1,16}$/),
    data: z.string().max(400_000),
    sig: z.string().min(1).max(2_048),
    /** The author's public key (protobuf), only when the peer ID does not embed it (RSA). */
    key: z.string().max(4_096).optional()
  })
  .strict()

export type WireRecord = z.infer<typeof wireRecordSchema>

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

function unb64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'))
}

function seqnoBytes(seqno: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, seqno, false)
  return out
}

export function toWire(message: SignedMessage): WireRecord {
  const embedded = message.from.publicKey != null
  return {
    from: message.from.toString(),
    seqno: message.sequenceNumber.toString(16),
    data: b64(message.data),
    sig: b64(message.signature),
    ...(embedded ? {} : { key: b64(publicKeyToProtobuf(message.key)) })
  }
}

/** The bytes gossipsub's StrictSign signs: "libp2p-pubsub:" + the protobuf message without signature and key. */
function signedBytes(from: Uint8Array, data: Uint8Array, seqno: bigint, topic: string): Uint8Array {
  const bytes = RPC.Message.encode({ from, data, seqno: seqnoBytes(seqno), topic })
  const signed = new Uint8Array(SIGN_PREFIX.byteLength + bytes.byteLength)
  signed.set(SIGN_PREFIX)
  signed.set(bytes, SIGN_PREFIX.byteLength)
  return signed
}

/**
 * Signs `data` as gossipsub's StrictSign would publish it (for simulations
 * and tests that run the catalog without gossipsub).
 */
export async function signAsGossip(
  privateKey: PrivateKey,
  topic: string,
  data: Uint8Array,
  sequenceNumber: bigint
): Promise<SignedMessage> {
  const from = peerIdFromPublicKey(privateKey.publicKey)
  const signature = await privateKey.sign(signedBytes(from.toMultihash().bytes, data, sequenceNumber, topic))
  return { type: 'signed', from, topic, data, sequenceNumber, signature, key: privateKey.publicKey }
}

/**
 * Rebuilds the author's signed gossipsub message from the wire and checks
 * the signature exactly as gossipsub's StrictSign does; throws
 * InvalidAdvertError otherwise.
 */
export async function fromWire(wire: WireRecord, topic: string): Promise<SignedMessage> {
  let from: ReturnType<typeof peerIdFromString>
  let key: PublicKey
  try {
    from = peerIdFromString(wire.from)
    if (wire.key != null) {
      key = publicKeyFromProtobuf(unb64(wire.key))
      if (!peerIdFromPublicKey(key).equals(from)) throw new Error('key does not match the peer ID')
    } else if (from.publicKey != null) {
      key = from.publicKey
    } else {
      throw new Error('no public key')
    }
  } catch (err) {
    throw new InvalidAdvertError(`synced record of ${wire.from}: ${errorMessage(err)}`)
  }
  const data = unb64(wire.data)
  const sequenceNumber = BigInt(`0x${wire.seqno}`)
  const signature = unb64(wire.sig)
  const signed = signedBytes(from.toMultihash().bytes, data, sequenceNumber, topic)
  let valid = false
  try {
    valid = await key.verify(signed, signature)
  } catch {}
  if (!valid) throw new InvalidAdvertError(`synced record of ${wire.from}: bad signature`)
  return { type: 'signed', from, topic, data, sequenceNumber, signature, key }
}

/**
 * The signed records this node holds, one per author (itself included):
 * what anti-entropy compares and hands on. Kept past the catalog entry of a
 * peer this node dropped (a failed redial), so digests still agree and a
 * re-sent copy of the same record never brings the peer back; leave records
 * are kept too, so a leave reaches members that missed it. Everything goes
 * at its expiry.
 */
export class RecordStore {
  readonly #records = new Map<string, StoredRecord>()
  #hash?: { root: string; buckets: string[] }

  get size(): number {
    return this.#records.size
  }

  get(peerId: string): StoredRecord | undefined {
    return this.#records.get(peerId)
  }

  /** Stores `record` if it is newer than the one held; returns whether it was. */
  put(record: StoredRecord): boolean {
    const held = this.#records.get(record.peerId)
    if (held != null && held.seq >= record.seq) return false
    this.#records.set(record.peerId, record)
    this.#hash = undefined
    return true
  }

  delete(peerId: string): void {
    if (this.#records.delete(peerId)) this.#hash = undefined
  }

  values(): IterableIterator<StoredRecord> {
    return this.#records.values()
  }

  /** Drops expired records; returns the authors dropped. */
  prune(now: number): string[] {
    const dropped: string[] = []
    for (const [peerId, record] of this.#records) {
      if (record.exp <= now) {
        this.#records.delete(peerId)
        dropped.push(peerId)
      }
    }
    if (dropped.length > 0) this.#hash = undefined
    return dropped
  }

  /** Every (author, sequence number) held, or only those in `buckets`. */
  digest(buckets?: ReadonlySet<number>): Array<[string, number]> {
    const out: Array<[string, number]> = []
    for (const record of this.#records.values())
      if (buckets == null || buckets.has(bucketOf(record.peerId))) out.push([record.peerId, record.seq])
    return out
  }

  /** A hash of the digest: two nodes with equal hashes hold the same records. */
  hash(): string {
    return this.#hashes().root
  }

  /**
   * The digest's hash per bucket (DIGEST_BUCKETS buckets by author): when two
   * large catalogs differ, only the differing buckets' digests travel.
   */
  bucketHashes(): string[] {
    return this.#hashes().buckets
  }

  #hashes(): { root: string; buckets: string[] } {
    if (this.#hash == null) {
      const lines: string[][] = Array.from({ length: DIGEST_BUCKETS }, () => [])
      for (const record of this.#records.values())
        lines[bucketOf(record.peerId)]!.push(`${record.peerId}:${record.seq}`)
      const buckets = lines.map((bucket) =>
        createHash('sha256').update(bucket.sort().join('\n')).digest('hex').slice(0, BUCKET_HASH_CHARS)
      )
      this.#hash = { root: createHash('sha256').update(buckets.join('')).digest('hex'), buckets }
    }
    return this.#hash
  }

  clear(): void {
    this.#records.clear()
    this.#hash = undefined
  }
}
