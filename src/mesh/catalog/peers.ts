import { meshLogger } from '../../util/logger.js'
import { DISCONNECT_GRACE_MS } from '../constants.js'
import type { CatalogPeer, ChangeReporter } from './types.js'

const log = meshLogger('catalog')

/**
 * The catalog's table of peers: who is listed, since when, how fast it
 * answers, and when it lost its connection. A peer is dropped once its
 * adverts stop for the TTL, or once it stays disconnected past the grace
 * period (so a re-dialled connection does not flap the tool list).
 */
export class PeerTable {
  readonly #peers = new Map<string, CatalogPeer>()
  readonly #peerTtlMs: number
  readonly #changed: ChangeReporter

  constructor(peerTtlMs: number, changed: ChangeReporter) {
    this.#peerTtlMs = peerTtlMs
    this.#changed = changed
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

  /** Drops silent peers and peers disconnected past the grace period. */
  expire(): void {
    const now = Date.now()
    const cutoff = now - this.#peerTtlMs
    for (const [peerId, peer] of this.#peers) {
      const gone = peer.disconnectedAt != null && now - peer.disconnectedAt >= this.disconnectGraceMs
      if (peer.lastSeen < cutoff || gone) {
        this.#peers.delete(peerId)
        log('dropped %s peer %s from the catalog', gone ? 'disconnected' : 'silent', peerId)
        this.#changed(peerId, gone ? 'disconnected' : 'expired')
      }
    }
  }
}
