import { describe, expect, it } from 'vitest'
import { rememberBounded } from '../../src/util/bounded.js'
import { ChurnMap } from '../../src/util/churn-map.js'

/** A ChurnMap that counts the walks from its start (calls of keys()). */
class CountingMap<K, V extends NonNullable<unknown>> extends ChurnMap<K, V> {
  walks = 0
  override keys(): MapIterator<K> {
    this.walks++
    return super.keys()
  }
}

describe('rememberBounded', () => {
  it('keeps at most max entries, the newest, and drops the oldest in batches', () => {
    const map = new CountingMap<number, string>()
    for (let i = 0; i < 20_000; i++) {
      rememberBounded(map, i, `v${i}`, 1_000)
      expect(map.size).toBeLessThanOrEqual(1_000)
    }
    expect(map.get(19_999)).toBe('v19999')
    expect(map.has(0)).toBe(false)
    // The newest tenth is always kept; the oldest keys went first.
    for (let i = 19_900; i < 20_000; i++) expect(map.has(i)).toBe(true)
    const kept = [...map.keys()]
    expect(kept).toEqual([...kept].sort((a, b) => a - b))
    // One walk per 100 inserts once full (a walk per insert would be 19,000).
    expect(map.walks).toBeLessThanOrEqual(1 + 19_000 / 100 + 1)
  })

  it('replaces a key it holds without dropping anything', () => {
    const map = new Map<string, number>([
      ['a', 1],
      ['b', 2]
    ])
    rememberBounded(map, 'a', 3, 2)
    expect([...map]).toEqual([
      ['a', 3],
      ['b', 2]
    ])
  })
})
