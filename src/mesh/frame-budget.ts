/**
 * Budgets for bytes of partial `/mcp+p2p` frames (bytes received of a frame
 * that is not complete yet), per peer and over all peers. A peer that opens
 * many streams, or many peers (peer IDs are free to mint), each sending the
 * start of a large frame and then nothing, would otherwise hold up to the
 * frame limit per stream. A stream whose growth would exceed a budget is
 * aborted by its transport.
 */
export class PartialFrameBudget {
  readonly perPeer: number
  readonly total: number
  readonly #byPeer = new Map<string, number>()
  #used = 0

  constructor(perPeer: number, total: number) {
    this.perPeer = perPeer
    this.total = total
  }

  /** Bytes of partial frames held now, over all peers. */
  get used(): number {
    return this.#used
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
    const held = this.usedBy(peer)
    if (delta > 0) {
      if (held + delta > this.perPeer) return 'peer'
      if (this.#used + delta > this.total) return 'node'
    }
    const next = Math.max(0, held + delta)
    if (next === 0) this.#byPeer.delete(peer)
    else this.#byPeer.set(peer, next)
    this.#used = Math.max(0, this.#used + delta)
    return undefined
  }
}
