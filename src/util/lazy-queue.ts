/**
 * A FIFO whose entries may go stale while they wait (dropped, finished
 * again, deleted elsewhere: `live` says which are not). Stale entries are
 * skipped, and let go, when they reach the front, and removed by a
 * compaction once they are most of what it holds; so the oldest live entry
 * costs O(1) amortized, where walking a Map from its start would pass every
 * entry deleted since, each time (see ChurnMap). What counts as live is the
 * caller's: it passes how many are live when it asks for a compaction.
 */
export class LazyQueue<T> {
  #items: Array<T | undefined> = []
  /** Slots before it are consumed (emptied). */
  #head = 0
  readonly #live: (item: T) => boolean
  readonly #minCompact: number

  /** `minCompact`: no compaction while the queue holds this many slots or fewer. */
  constructor(live: (item: T) => boolean, minCompact: number) {
    this.#live = live
    this.#minCompact = minCompact
  }

  push(item: T): void {
    this.#items.push(item)
  }

  /** The oldest live entry (stale ones before it are let go), or undefined. */
  first(): T | undefined {
    const items = this.#items
    let head = this.#head
    for (; head < items.length; head++) {
      const item = items[head]
      if (item !== undefined && this.#live(item)) break
      items[head] = undefined
    }
    this.#head = head
    // The consumed head goes once it is most of the array.
    if (head > this.#minCompact && head * 2 > items.length) this.#compact()
    return this.#items[this.#head]
  }

  /** Removes and returns the oldest live entry, or undefined. */
  shift(): T | undefined {
    const item = this.first()
    if (item !== undefined) this.#items[this.#head++] = undefined
    return item
  }

  /** Drops the stale entries once they outnumber the `live` ones (the caller's count) twice. */
  compact(live: number): void {
    const held = this.#items.length - this.#head
    if (held > this.#minCompact && held > 2 * live) this.#compact()
  }

  /** Slots held: live entries and stale ones not removed yet. */
  get held(): number {
    return this.#items.length - this.#head
  }

  #compact(): void {
    const items: Array<T | undefined> = []
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i]
      if (item !== undefined && this.#live(item)) items.push(item)
    }
    this.#items = items
    this.#head = 0
  }
}
