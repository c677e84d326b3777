import { RateLimiter } from '@libp2p/utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { WindowRate } from '../../src/util/window-rate.js'

/** @libp2p/utils' answer for one request: true when under the limit. */
function consumed(limiter: RateLimiter, key: string): boolean {
  try {
    limiter.consume(key)
    return true
  } catch {
    return false
  }
}

describe('WindowRate', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('allows `points` requests per window and key, then refuses until the window closes', () => {
    const rate = new WindowRate(3, 1_000)
    expect([1, 2, 3, 4, 5].map(() => rate.take('a'))).toEqual([true, true, true, false, false])
    expect(rate.take('b')).toBe(true)
    vi.advanceTimersByTime(999)
    expect(rate.take('a')).toBe(false)
    vi.advanceTimersByTime(1)
    expect(rate.take('a')).toBe(true)
  })

  it('forgets a key once its window closed', () => {
    const rate = new WindowRate(1, 1_000)
    rate.take('a')
    rate.take('b')
    expect(rate.size).toBe(2)
    vi.advanceTimersByTime(1_000)
    expect(rate.size).toBe(0)
  })

  it('answers as @libp2p/utils RateLimiter (duration one window, no blocking) on the same requests', () => {
    const rate = new WindowRate(4, 1_000)
    const limiter = new RateLimiter({ points: 4, duration: 1 })
    const steps = [0, 0, 0, 0, 0, 0, 300, 300, 400, 1, 0, 0, 0, 0, 999, 1, 2_500, 0, 0]
    for (const [i, step] of steps.entries()) {
      vi.advanceTimersByTime(step)
      const key = i % 5 === 4 ? 'other' : 'peer'
      expect(rate.take(key), `request ${i}`).toBe(consumed(limiter, key))
    }
  })
})
