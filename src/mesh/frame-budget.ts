import { strangersShare } from '../trust/index.js'
import { MAX_IDLE_PEER_ENTRIES } from './constants.js'

/**
 * Budgets for bytes of partial `/mcp+p2p` frames (bytes received of a frame
 * that is not complete yet), per peer and over all peers. A peer that opens
 * many streams, or many peers (peer IDs are free to mint), each sending the
 * start of a large frame and then nothing, would otherwise hold up to the
 * frame limit per stream. A stream whose growth would exceed a budget is
 * aborted by its transport.
 *
 * The inbound limiter keeps the bytes of calls held (accepted, not answered
 * yet) in a budget of this kind too, without the strangers' share.
 */
export class PartialFrameBudget {
  readonly perPeer: number
  readonly total: number
  readonly #byPeer = new Map<string, number>()
  /** Entries of #byPeer at zero, kept for the peer's next frame or call (at most MAX_IDLE_PEER_ENTRIES). */
  #idle = 0
  #used = 0
  /** Whether a peer is one the gate does not admit (trust.allowPeers): strangers share a slice of the total. */
  readonly #stranger?: (peer: string) => boolean
  #strangersUsed = 0

  constructor(perPeer: number, total: number, stranger?: (peer: string) => boolean) {
    this.perPeer = perPeer
    this.total = total
    this.#stranger = stranger
  }

  /** What all strangers together may hold: their share of the total (trust's strangersShare). */
  get strangersTotal(): number {
    return strangersShare(this.total)
  }

  /** Bytes of partial frames held now, over all peers. */
  get used(): number {
    return this.#used
  }

  /** Peers with an entry: those holding bytes, and at most MAX_IDLE_PEER_ENTRIES that hold none. */
  get entries(): number {
    return this.#byPeer.size
  }

  /** Bytes of partial frames held for `peer`. */
  usedBy(peer: string): number {
    return this.#byPeer.get(peer) ?? 0
  }

  /**
   * Moves a stream of `peer` from holding `from` to holding `to` bytes.
   * Returns the budget exceeded (nothing is charged then), or undefined.
   */
  resize(peer: string, from: number, to: number): 'peer' | 'node' | undefined {
    const delta = to - from
    if (delta === 0) return undefined
    const entry = this.#byPeer.get(peer)
    const held = entry ?? 0
    const stranger = this.#stranger?.(peer) === true
    if (delta > 0) {
      if (held + delta > this.perPeer) return 'peer'
      if (this.#used + delta > this.total) return 'node'
      if (stranger && this.#strangersUsed + delta > this.strangersTotal) return 'node'
    }
    const next = Math.max(0, held + delta)
    if (next !== 0) {
      if (entry === 0) this.#idle--
      this.#byPeer.set(peer, next)
    } else if (entry !== undefined && entry !== 0) {
      // Kept at zero (set, not deleted: a Map churned by delete and re-insert per call
      // reallocates its table each time); the idle ones go once there are too many.
      this.#byPeer.set(peer, 0)
      if (++this.#idle > MAX_IDLE_PEER_ENTRIES) this.#sweep()
    }
    this.#used = Math.max(0, this.#used + delta)
    if (stranger) this.#strangersUsed = Math.max(0, this.#strangersUsed + (next - held))
    return undefined
  }

  /** Deletes every entry at zero. */
  #sweep(): void {
    for (const [peer, bytes] of this.#byPeer) if (bytes === 0) this.#byPeer.delete(peer)
    this.#idle = 0
  }
}
