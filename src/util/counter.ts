/**
 * Counts outstanding things per key (calls in flight to a peer, leases a
 * worker holds). Keys with no count are dropped, so the map stays as small as
 * what is outstanding.
 */
export class KeyedCounter {
  readonly #counts = new Map<string, number>()

  get(key: string): number {
    return this.#counts.get(key) ?? 0
  }

  increment(key: string): void {
    this.#counts.set(key, this.get(key) + 1)
  }

  decrement(key: string): void {
    const left = this.get(key) - 1
    if (left <= 0) this.#counts.delete(key)
    else this.#counts.set(key, left)
  }

  get size(): number {
    return this.#counts.size
  }
}
