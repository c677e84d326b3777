import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { DISCONNECT_GRACE_MS } from '../constants.js'
import type { CatalogPeer, CatalogStats, ChangeReporter } from './types.js'

/** Re-dials a peer whose connection dropped; rejects when it cannot be reached. */
export type Redial = (peerId: string) => Promise<void>

const log = meshLogger('catalog')

/**
 * The catalog's table of peers: who is listed, until when, how fast it
 * answers, and when it lost its connection. A peer is dropped when its
 * signed record expires, when its leave record arrives, or when its
 * connection dropped and a redial after the grace period failed (a lost
 * connection alone proves nothing: the connection manager prunes, networks
 * blip). Direct and DHT listings (no record) live for the TTL.
 */
export class PeerTable {
  readonly #peers = new Map<string, CatalogPeer>()
  readonly #peerTtlMs: number
  readonly #changed: ChangeReporter
  readonly #redial?: Redial
  readonly #stats?: CatalogStats
  /** Peers being re-dialled now. */
  readonly #redialing = new Set<string>()

  constructor(peerTtlMs: number, changed: ChangeReporter, redial?: Redial, stats?: CatalogStats) {
    this.#peerTtlMs = peerTtlMs
    this.#changed = changed
    this.#redial = redial
    this.#stats = stats
  }

  /** How long a disconnected peer stays listed (bounded by the silence TTL). */
  get disconnectGraceMs(): number {
    return Math.min(DISCONNECT_GRACE_MS, this.#peerTtlMs)
  }

  get size(): number {
    return this.#peers.size
  }

  get(peerId: string): CatalogPeer | undefined {
    return this.#peers.get(peerId)
  }

  has(peerId: string): boolean {
    return this.#peers.has(peerId)
  }

  set(peer: CatalogPeer): void {
    this.#peers.set(peer.peerId, peer)
  }

  /** Removes a peer at once (its leave record); reports the change when it was listed. */
  remove(peerId: string, reason: 'left' | 'disconnected' | 'expired'): boolean {
    if (!this.#peers.delete(peerId)) return false
    log('dropped peer %s from the catalog (%s)', peerId, reason)
    this.#changed(peerId, reason)
    return true
  }

  list(): CatalogPeer[] {
    return [...this.#peers.values()]
  }

  /** Tools listed over all peers. */
  toolCount(): number {
    let tools = 0
    for (const peer of this.#peers.values()) tools += peer.tools.size
    return tools
  }

  clear(): void {
    this.#peers.clear()
    this.#redialing.clear()
  }

  /** Folds a measured round trip into the peer's smoothed latency. */
  recordLatency(peerId: string, ms: number): void {
    const peer = this.#peers.get(peerId)
    if (peer == null) return
    peer.latencyMs = peer.latencyMs == null ? ms : peer.latencyMs * 0.8 + ms * 0.2
  }

  /**
   * A connection can drop and come back (re-dials, duplicate connections
   * being closed): the peer is kept for a grace period instead of flapping
   * the tool list; calls meanwhile re-dial it or fail over.
   */
  disconnected(peerId: string): void {
    const peer = this.#peers.get(peerId)
    if (peer != null) peer.disconnectedAt = Date.now()
  }

  connected(peerId: string): void {
    const peer = this.#peers.get(peerId)
    if (peer != null) peer.disconnectedAt = undefined
  }

  /**
   * Drops peers whose record expired (or, without a record, silent for the
   * TTL), and re-dials peers disconnected past the grace period: a failed
   * redial drops them.
   */
  expire(): void {
    const now = Date.now()
    for (const [peerId, peer] of this.#peers) {
      const expiresAt = peer.expiresAt ?? peer.lastSeen + this.#peerTtlMs
      if (expiresAt <= now) {
        this.remove(peerId, 'expired')
        continue
      }
      if (peer.disconnectedAt != null && now - peer.disconnectedAt >= this.disconnectGraceMs) this.#redialPeer(peer)
    }
  }

  #redialPeer(peer: CatalogPeer): void {
    const redial = this.#redial
    const peerId = peer.peerId
    if (redial == null) {
      this.remove(peerId, 'disconnected')
      return
    }
    if (this.#redialing.has(peerId)) return
    this.#redialing.add(peerId)
    if (this.#stats != null) this.#stats.redials++
    const since = peer.disconnectedAt
    redial(peerId).then(
      () => {
        this.#redialing.delete(peerId)
        const current = this.#peers.get(peerId)
        // Reconnected: peer:connect cleared the mark already; clear it anyway if it is the same loss.
        if (current != null && current.disconnectedAt === since) current.disconnectedAt = undefined
      },
      (err: unknown) => {
        this.#redialing.delete(peerId)
        if (this.#stats != null) this.#stats.redialFailures++
        log('redial of %s failed: %s', peerId, errorMessage(err))
        const current = this.#peers.get(peerId)
        if (current != null && current.disconnectedAt != null) this.remove(peerId, 'disconnected')
      }
    )
  }
}
