import { describe, expect, it } from 'vitest'
import { type Candidate, rankCandidates, rendezvousWeight } from '../../src/mesh/selector.js'

const candidate = (peerId: string, extra: Partial<Candidate> = {}): Candidate => ({
  peerId,
  inFlight: 0,
  queued: 0,
  maxConcurrency: 8,
  tags: [],
  ...extra
})

describe('rankCandidates', () => {
  it('keeps only peers whose tags include the required ones', () => {
    const ranked = rankCandidates([candidate('a', { tags: ['gpu'] }), candidate('b')], {
      key: 'k',
      requiredTags: ['gpu']
    })
    expect(ranked.map((c) => c.peerId)).toEqual(['a'])
  })

  it('prefers the less loaded peer, then the lower latency', () => {
    const busy = candidate('busy', { inFlight: 8 })
    const far = candidate('far', { latencyMs: 80 })
    const near = candidate('near', { latencyMs: 1 })
    expect(rankCandidates([busy, far, near], { key: 'k' }).map((c) => c.peerId)).toEqual(['near', 'far', 'busy'])
  })

  it('breaks ties by rendezvous hashing, identically for every caller and input order', () => {
    const peers = ['p1', 'p2', 'p3', 'p4'].map((id) => candidate(id))
    const one = rankCandidates(peers, { key: 'task-1' }).map((c) => c.peerId)
    const two = rankCandidates([...peers].reverse(), { key: 'task-1' }).map((c) => c.peerId)
    expect(one).toEqual(two)
    const byWeight = [...peers].sort((x, y) =>
      rendezvousWeight('task-1', y.peerId) > rendezvousWeight('task-1', x.peerId) ? 1 : -1
    )
    expect(one).toEqual(byWeight.map((c) => c.peerId))
    // Different keys spread over different peers.
    const firsts = new Set(Array.from({ length: 40 }, (_, i) => rankCandidates(peers, { key: `task-${i}` })[0]!.peerId))
    expect(firsts.size).toBeGreaterThan(1)
  })

  it('puts peers already tried last', () => {
    const ranked = rankCandidates([candidate('a'), candidate('b')], { key: 'k', tried: new Set(['a']) })
    expect(ranked.map((c) => c.peerId)).toEqual(['b', 'a'])
  })
})
