import { describe, expect, it } from 'vitest'
import { type RecentResult, RecentResults } from '../../../src/queue/worker/recent-results.js'

const result = (owner: string, id: string, finishedAt = 0): RecentResult => ({
  id,
  owner,
  token: `t-${id}`,
  result: { content: [] },
  finishedAt
})

const kept = (recent: RecentResults): string[] => [...recent.entries.keys()]

describe('RecentResults', () => {
  it("drops the owner's oldest beyond its bound, leaving other owners' results", () => {
    const recent = new RecentResults({ maxAgeMs: 1000, max: 100, maxPerOwner: 3 })
    recent.remember('b/kept', result('b', 'kept'))
    for (let n = 0; n < 5; n++) recent.remember(`a/${n}`, result('a', String(n)))
    expect(kept(recent)).toEqual(['b/kept', 'a/2', 'a/3', 'a/4'])
    expect(recent.countOf('a')).toBe(3)
    expect(recent.countOf('b')).toBe(1)
  })

  it('drops the oldest in all beyond the total bound, and those older than maxAgeMs', () => {
    const recent = new RecentResults({ maxAgeMs: 100, max: 3, maxPerOwner: 10 })
    for (const [n, owner] of ['a', 'b', 'c', 'a', 'b'].entries())
      recent.remember(`${owner}/${n}`, result(owner, String(n)))
    expect(kept(recent)).toEqual(['c/2', 'a/3', 'b/4'])
    recent.remember('c/late', result('c', 'late', 100))
    expect(kept(recent)).toEqual(['c/late'])
    expect([recent.countOf('a'), recent.countOf('b'), recent.countOf('c')]).toEqual([0, 0, 1])
  })

  it('replaces a result kept under the same key (it becomes the newest) and forgets by key', () => {
    const recent = new RecentResults({ maxAgeMs: 1000, max: 100, maxPerOwner: 2 })
    recent.remember('a/1', result('a', '1'))
    recent.remember('a/2', result('a', '2'))
    recent.remember('a/1', result('a', '1'))
    recent.remember('a/3', result('a', '3'))
    expect(kept(recent)).toEqual(['a/1', 'a/3'])
    recent.forget('a/3')
    recent.forget('unknown')
    expect(kept(recent)).toEqual(['a/1'])
    expect(recent.countOf('a')).toBe(1)
  })

  it('keeps exactly the newest results through long churn of several owners (queues compact)', () => {
    const recent = new RecentResults({ maxAgeMs: 1_000_000, max: 50, maxPerOwner: 20 })
    const owners = ['a', 'b', 'c']
    const expected: string[] = []
    for (let n = 0; n < 5000; n++) {
      // Owner a takes most tasks; every 7th result is kept again under an earlier key.
      const owner = n % 5 === 0 ? (owners[(n / 5) % 3] ?? 'a') : 'a'
      const key = n % 7 === 0 && n > 0 ? (expected[expected.length - 1] ?? 'a/none') : `${owner}/${n}`
      const [keyOwner = '', id = ''] = key.split('/')
      recent.remember(key, result(keyOwner, id, n))
      const at = expected.indexOf(key)
      if (at >= 0) expected.splice(at, 1)
      expected.push(key)
      const mine = expected.filter((k) => k.startsWith(`${keyOwner}/`))
      if (mine.length > 20) expected.splice(expected.indexOf(mine[0] ?? ''), 1)
      while (expected.length > 50) expected.shift()
      expect(kept(recent)).toEqual(expected)
    }
    for (const owner of owners) {
      expect(recent.countOf(owner)).toBe(expected.filter((k) => k.startsWith(`${owner}/`)).length)
    }
  })
})
