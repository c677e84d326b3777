/**
 * Inserts into a bounded map; when full, drops its oldest tenth first, in
 * one walk. One entry per insert would walk from the start on every insert
 * while full, past every entry deleted since (a ChurnMap keeps them as
 * tombstones until it rebuilds: up to as many as it holds), so a map kept
 * full (e.g. more than `max` open tasks) cost thousands of steps per insert;
 * a batch makes it a few.
 */
export function rememberBounded<K, V>(
  map: {
    readonly size: number
    has(key: K): boolean
    keys(): Iterator<K>
    delete(key: K): boolean
    set(key: K, value: V): unknown
  },
  key: K,
  value: V,
  max: number
): void {
  if (map.size >= max && !map.has(key)) {
    const batch = Math.max(1, Math.ceil(max / 10))
    const oldest: K[] = []
    const keys = map.keys()
    for (let next = keys.next(); next.done !== true; next = keys.next()) {
      oldest.push(next.value)
      if (oldest.length >= batch) break
    }
    for (const old of oldest) map.delete(old)
  }
  map.set(key, value)
}
