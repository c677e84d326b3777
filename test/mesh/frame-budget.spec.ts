import { describe, expect, it } from 'vitest'
import { MAX_IDLE_PEER_ENTRIES } from '../../src/mesh/constants.js'
import { PartialFrameBudget } from '../../src/mesh/frame-budget.js'

describe('PartialFrameBudget', () => {
  it('charges per peer and in total, and refuses growth past either budget', () => {
    const budget = new PartialFrameBudget(100, 150)
    expect(budget.resize('a', 0, 100)).toBeUndefined()
    expect(budget.resize('a', 100, 101)).toBe('peer')
    expect(budget.resize('b', 0, 60)).toBe('node')
    expect(budget.resize('b', 0, 50)).toBeUndefined()
    expect(budget.used).toBe(150)
    expect(budget.resize('a', 100, 0)).toBeUndefined()
    expect(budget.usedBy('a')).toBe(0)
    expect(budget.used).toBe(50)
    expect(budget.resize('a', 0, 0)).toBeUndefined()
    expect(budget.used).toBe(50)
  })

  it('keeps a bounded number of idle peers (peer IDs are free to mint)', () => {
    const budget = new PartialFrameBudget(1_000, 1_000_000)
    budget.resize('holder', 0, 10)
    for (let i = 0; i < 3 * MAX_IDLE_PEER_ENTRIES; i++) {
      expect(budget.resize(`peer-${i}`, 0, 100)).toBeUndefined()
      expect(budget.resize(`peer-${i}`, 100, 0)).toBeUndefined()
    }
    expect(budget.entries).toBeLessThanOrEqual(MAX_IDLE_PEER_ENTRIES + 1)
    expect(budget.usedBy('holder')).toBe(10)
    expect(budget.used).toBe(10)
    // An idle peer's entry is reused and charged again as before.
    expect(budget.resize(`peer-${3 * MAX_IDLE_PEER_ENTRIES - 1}`, 0, 1_000)).toBeUndefined()
    expect(budget.resize(`peer-${3 * MAX_IDLE_PEER_ENTRIES - 1}`, 1_000, 1_001)).toBe('peer')
    expect(budget.used).toBe(1_010)
  })

  it('counts strangers against their share of the total', () => {
    const budget = new PartialFrameBudget(1_000_000, 1_000_000, (peer) => peer.startsWith('stranger'))
    const share = budget.strangersTotal
    expect(budget.resize('stranger-1', 0, share)).toBeUndefined()
    expect(budget.resize('stranger-2', 0, 1)).toBe('node')
    expect(budget.resize('stranger-1', share, 0)).toBeUndefined()
    expect(budget.resize('stranger-2', 0, 1)).toBeUndefined()
  })
})
