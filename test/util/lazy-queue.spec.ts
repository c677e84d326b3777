import { describe, expect, it } from 'vitest'
import { LazyQueue } from '../../src/util/lazy-queue.js'

interface Item {
  n: number
  stale: boolean
}

describe('LazyQueue', () => {
  it('gives the oldest live entry, skipping stale ones, in FIFO order', () => {
    const queue = new LazyQueue<Item>((item) => !item.stale, 4)
    const items = Array.from({ length: 10 }, (_, n) => ({ n, stale: false }))
    for (const item of items) queue.push(item)
    items[0]!.stale = true
    items[1]!.stale = true
    items[4]!.stale = true
    expect(queue.first()?.n).toBe(2)
    const order: number[] = []
    for (let item = queue.shift(); item != null; item = queue.shift()) order.push(item.n)
    expect(order).toEqual([2, 3, 5, 6, 7, 8, 9])
    expect(queue.first()).toBeUndefined()
    expect(queue.held).toBe(0)
  })

  it('holds at most about twice the live entries when the caller compacts as entries go stale', () => {
    const queue = new LazyQueue<Item>((item) => !item.stale, 16)
    const live: Item[] = []
    let most = 0
    for (let n = 0; n < 10_000; n++) {
      const item = { n, stale: false }
      queue.push(item)
      live.push(item)
      // Entries go stale out of order (not at the front): only a compaction removes them.
      if (live.length > 8) live.splice(live.length - 5, 1)[0]!.stale = true
      queue.compact(live.length)
      most = Math.max(most, queue.held)
    }
    expect(most).toBeLessThanOrEqual(2 * live.length + 1)
    expect(queue.first()?.n).toBe(live[0]!.n)
  })

  it('lets the consumed front go: a long run of shifts does not keep every slot', () => {
    const queue = new LazyQueue<Item>((item) => !item.stale, 16)
    for (let n = 0; n < 1_000; n++) {
      queue.push({ n, stale: false })
      if (n % 2 === 1) queue.shift()
    }
    expect(queue.held).toBe(500)
    expect(queue.first()?.n).toBe(500)
  })
})
