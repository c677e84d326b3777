/** Tombstones a ChurnMap lets pile up (and at least as many as it holds) before it rebuilds its table. */
const MIN_TOMBSTONES = 64

/**
 * A `Map` for entries that come and go all the time (one per call or task in
 * flight) in a map that lives as long as the node: same insertion order and
 * the subset of the Map API the node uses, but a `delete` leaves a tombstone
 * (the value `undefined`) and the table is rebuilt once tombstones outnumber
 * the live entries.
 *
 * Why: V8 promotes, with everything it references, an entry deleted from a
 * long-lived `Map` whose other entries keep changing: a call's whole object
 * graph survived every young-generation collection until a full one.
 * `bench/gc/map-churn.ts`: a long-lived Map cycling 64 entries promoted
 * 6.2-8 MB per scavenge (20-29 full GCs, 2.5× the time); with tombstones and
 * rebuilds, nothing (bench/RESULTS.md, issue 12, sixth pass). Values may not
 * be `undefined`.
 *
 * Not a queue: iterating walks the tombstones too (up to as many as there
 * are live entries), so finding the oldest entry by iterating from the start
 * on every call costs O(tombstones) each time. The worker's kept results did
 * that and allocated 27 KB per task (eighth pass); keep the order in a queue
 * of its own instead (LazyQueue, src/util/lazy-queue.ts).
 */
export class ChurnMap<K, V extends NonNullable<unknown> | null> implements ReadonlyMap<K, V> {
  #map = new Map<K, V | undefined>()
  #size = 0
  #tombstones = 0

  get size(): number {
    return this.#size
  }

  get(key: K): V | undefined {
    return this.#map.get(key)
  }

  has(key: K): boolean {
    return this.#map.get(key) !== undefined
  }

  set(key: K, value: V): this {
    const map = this.#map
    if (map.get(key) === undefined) {
      // A tombstoned key goes to the end, as a deleted and re-added key of a Map does.
      if (map.has(key)) {
        map.delete(key)
        this.#tombstones--
      }
      this.#size++
    }
    map.set(key, value)
    return this
  }

  delete(key: K): boolean {
    const map = this.#map
    if (map.get(key) === undefined) return false
    map.set(key, undefined)
    this.#size--
    this.#tombstones++
    if (this.#tombstones > MIN_TOMBSTONES && this.#tombstones > this.#size) this.#rebuild()
    return true
  }

  clear(): void {
    this.#map = new Map()
    this.#size = 0
    this.#tombstones = 0
  }

  /**
   * Live entries in insertion order. An iteration that outlives a rebuild
   * goes on over the old table and yields only what is still live (checked
   * against the current one); entries added after the rebuild are not
   * visited by it.
   */
  *entries(): MapIterator<[K, V]> {
    const table = this.#map
    for (const [key, value] of table) {
      if (value === undefined) continue
      if (table === this.#map || this.#map.get(key) === value) yield [key, value]
    }
  }

  *keys(): MapIterator<K> {
    for (const [key] of this.entries()) yield key
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries()
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this)
  }

  /** The live entries in a new table; the old one (and what its tombstones held) is left to the collector. */
  #rebuild(): void {
    const next = new Map<K, V | undefined>()
    for (const [key, value] of this.#map) if (value !== undefined) next.set(key, value)
    this.#map = next
    this.#tombstones = 0
  }
}
