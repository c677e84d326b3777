import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import type { Libp2p } from 'libp2p'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import {
  ANTI_ENTROPY_BASE_MS,
  ANTI_ENTROPY_MAX_MS,
  JOIN_SYNC_PEERS,
  SYNC_MAX_INBOUND_STREAMS,
  SYNC_MAX_MESSAGE_BYTES,
  SYNC_MAX_PER_PEER_PER_MINUTE,
  SYNC_MAX_ROUNDS,
  SYNC_TIMEOUT_MS
} from './constants.js'
import { digestAnswerSchema, exchangeSchema, helloSchema, recordsAnswerSchema, type SyncCore } from './sync-core.js'
import type { CatalogGate, CatalogStats } from './types.js'

const log = meshLogger('catalog')
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export interface CatalogSyncInit {
  protocol: string
  core: SyncCore
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  gate: Pick<CatalogGate, 'admits'>
  stats: CatalogStats
  /** Connected members of our mesh (candidates for the periodic exchange). */
  members: () => string[]
  /** How many records this node holds (the mesh size, for the interval). */
  meshSize: () => number
}

/** The anti-entropy interval for a mesh of `n` nodes: grows with log2(n), bounded. */
export function antiEntropyIntervalMs(n: number): number {
  return Math.min(ANTI_ENTROPY_MAX_MS, ANTI_ENTROPY_BASE_MS * Math.max(1, Math.ceil(Math.log2(n + 1))))
}

/**
 * The catalog's anti-entropy over libp2p (`/mcp-mesh/<mesh>/catalog-sync/1.0.0`,
 * four length-prefixed JSON messages on one stream, see sync-core.ts):
 * - at join, with the first JOIN_SYNC_PEERS members identified: the whole
 *   catalog, with descriptors, in one round trip pair;
 * - then, every antiEntropyIntervalMs(mesh size) ± 20 %, with one random
 *   connected member: equal digests cost one hash each way.
 * Inbound exchanges are served only to peers the gate admits, at most
 * SYNC_MAX_PER_PEER_PER_MINUTE per peer.
 */
export class CatalogSync {
  readonly #init: CatalogSyncInit
  #timer?: NodeJS.Timeout
  #started = false
  #joinSyncs = 0
  readonly #served = new Map<string, { count: number; since: number }>()
  readonly #abort = new AbortController()

  constructor(init: CatalogSyncInit) {
    this.#init = init
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    await this.#init.libp2p.handle(this.#init.protocol, (stream, connection) => this.#serve(stream, connection), {
      maxInboundStreams: SYNC_MAX_INBOUND_STREAMS,
      maxOutboundStreams: SYNC_MAX_INBOUND_STREAMS,
      // A node reachable only through a (limited) relay circuit still syncs its catalog.
      runOnLimitedConnection: true
    })
    this.#schedule()
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    clearTimeout(this.#timer)
    this.#abort.abort()
    await this.#init.libp2p.unhandle(this.#init.protocol).catch(() => {})
  }

  /** A member was identified: the first few are asked for the whole catalog (the join sync). */
  identified(peerId: PeerId, protocols: readonly string[]): void {
    if (!this.#started || !protocols.includes(this.#init.protocol)) return
    if (this.#joinSyncs >= JOIN_SYNC_PEERS) return
    this.#joinSyncs++
    this.syncWith(peerId.toString()).catch((err: unknown) => {
      this.#joinSyncs--
      log('join sync with %s failed: %s', peerId, errorMessage(err))
    })
  }

  /**
   * Exchanges with `peer` until nothing is left to take: an answer is capped
   * (SYNC_MAX_ANSWER_BYTES), so a newcomer to a large mesh needs a few rounds
   * (bounded by SYNC_MAX_ROUNDS, within the responder's rate limit).
   * Resolves with the number of records taken.
   */
  async syncWith(peer: string): Promise<number> {
    let total = 0
    for (let round = 0; round < SYNC_MAX_ROUNDS; round++) {
      const { taken, truncated } = await this.#round(peer)
      total += taken
      if (!truncated || taken === 0) break
    }
    return total
  }

  /** One exchange; `truncated` when the answer left out records we asked for. */
  async #round(peer: string): Promise<{ taken: number; truncated: boolean }> {
    const { core, stats } = this.#init
    stats.syncRounds++
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(SYNC_TIMEOUT_MS)])
    const stream = await this.#init.libp2p.dialProtocol(peerIdFromString(peer), this.#init.protocol, {
      signal,
      runOnLimitedConnection: true
    })
    try {
      const lp = lpStream(stream, { maxDataLength: SYNC_MAX_MESSAGE_BYTES })
      await lp.write(encode(core.hello()), { signal })
      const answer = digestAnswerSchema.parse(decode(await lp.read({ signal })))
      const exchange = core.exchange(answer)
      if (exchange == null) return { taken: 0, truncated: false }
      stats.syncRepairs++
      await lp.write(encode(exchange), { signal })
      const records = recordsAnswerSchema.parse(decode(await lp.read({ signal })))
      const taken = await core.finish(peer, records)
      log('synced with %s: pushed %d, took %d records', peer, exchange.push.length, taken)
      return { taken, truncated: records.records.length < exchange.want.length }
    } catch (err) {
      stream.abort(err as Error)
      throw err
    } finally {
      await stream.close({ signal: AbortSignal.timeout(1_000) }).catch(() => {})
    }
  }

  #schedule(): void {
    if (!this.#started) return
    const interval = antiEntropyIntervalMs(this.#init.meshSize())
    const delay = Math.round(interval * (0.8 + Math.random() * 0.4))
    this.#timer = setTimeout(() => {
      const members = this.#init.members()
      const peer = members[Math.floor(Math.random() * members.length)]
      const round = peer == null ? Promise.resolve(0) : this.syncWith(peer)
      round
        .catch((err: unknown) => log('anti-entropy with %s failed: %s', peer, errorMessage(err)))
        .finally(() => this.#schedule())
    }, delay)
    this.#timer.unref()
  }

  #serve(stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer.toString()
    if (!this.#init.gate.admits(peer).allowed || !this.#allow(peer)) {
      stream.abort(new Error('catalog sync refused'))
      return
    }
    const { core } = this.#init
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(SYNC_TIMEOUT_MS)])
    void (async () => {
      const lp = lpStream(stream, { maxDataLength: SYNC_MAX_MESSAGE_BYTES })
      const hello = helloSchema.parse(decode(await lp.read({ signal })))
      const answer = core.answerHello(hello)
      await lp.write(encode(answer), { signal })
      if (!('same' in answer)) {
        const exchange = exchangeSchema.parse(decode(await lp.read({ signal })))
        await lp.write(encode(await core.answerExchange(peer, exchange)), { signal })
      }
      await stream.close({ signal })
    })().catch((err: unknown) => {
      log('serving catalog sync to %s failed: %s', peer, errorMessage(err))
      stream.abort(err as Error)
    })
  }

  /** Per-peer rate limit of served exchanges (a minute window). */
  #allow(peer: string): boolean {
    const now = Date.now()
    const entry = this.#served.get(peer)
    if (entry == null || now - entry.since > 60_000) {
      this.#served.set(peer, { count: 1, since: now })
      if (this.#served.size > 4096) {
        for (const [id, old] of this.#served) if (now - old.since > 60_000) this.#served.delete(id)
      }
      return true
    }
    entry.count++
    return entry.count <= SYNC_MAX_PER_PEER_PER_MINUTE
  }
}

function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

function decode(data: { subarray(): Uint8Array }): unknown {
  return JSON.parse(decoder.decode(data.subarray())) as unknown
}
