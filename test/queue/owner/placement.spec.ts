import { describe, expect, it } from 'vitest'
import type { CatalogPeer } from '../../../src/mesh/catalog.js'
import { chooseWorker, claimableBy, type PlacementView } from '../../../src/queue/owner/placement.js'
import { catalogPeer as peer, SELF, storedTask } from '../fixtures.js'

function view(overrides: Partial<PlacementView> & { local?: boolean; freeSlots?: number } = {}): PlacementView {
  const { local = false, freeSlots = 1, ...rest } = overrides
  return {
    self: SELF,
    dispatchMode: 'auto',
    worker: { offers: () => local, freeSlots, runningCount: 0, maxConcurrency: 2 },
    localTags: () => [],
    peers: () => [],
    outstanding: () => 0,
    pushPaused: () => false,
    spreadWorkers: () => [],
    ...rest
  }
}

describe('placement', () => {
  it('runs a task here when this node offers the tool and has a free slot', () => {
    expect(chooseWorker(storedTask('t'), view({ local: true }))).toEqual({ kind: 'local' })
    expect(chooseWorker(storedTask('t'), view({ local: true, freeSlots: 0 }))).toEqual({ kind: 'busy' })
  })

  it('says none when no worker offers the tool, busy when all offering workers are full', () => {
    expect(chooseWorker(storedTask('t'), view())).toEqual({ kind: 'none' })
    const full = view({ peers: () => [peer('a')], outstanding: () => 4 })
    expect(chooseWorker(storedTask('t'), full)).toEqual({ kind: 'busy' })
    const away = view({ peers: () => [peer('a', { disconnectedAt: Date.now() })] })
    expect(chooseWorker(storedTask('t'), away)).toEqual({ kind: 'busy' })
    const cooling = view({ peers: () => [peer('a')], pushPaused: (p) => p === 'a' })
    expect(chooseWorker(storedTask('t'), cooling)).toEqual({ kind: 'busy' })
    const closed = view({
      peers: () => [peer('a', { worker: { accepting: false, maxConcurrency: 4, running: 0, tags: [] } })]
    })
    expect(chooseWorker(storedTask('t'), closed)).toEqual({ kind: 'none' })
  })

  it('pushes to a peer with room, respecting the worker capacity it advertises', () => {
    const peers = (): CatalogPeer[] => [
      peer('a', { worker: { accepting: true, maxConcurrency: 1, running: 0, tags: [] } })
    ]
    expect(chooseWorker(storedTask('t'), view({ peers }))).toEqual({ kind: 'push', peer: 'a' })
    expect(chooseWorker(storedTask('t'), view({ peers, outstanding: () => 1 }))).toEqual({ kind: 'busy' })
  })

  it('honours local, peer and tag placement and pull-only dispatch', () => {
    const peers = (): CatalogPeer[] => [peer('a'), peer('b', { toolTags: ['gpu'] })]
    expect(chooseWorker(storedTask('t', { placement: { local: true } }), view({ peers }))).toEqual({ kind: 'none' })
    expect(chooseWorker(storedTask('t', { placement: { peer: 'a' } }), view({ peers }))).toEqual({
      kind: 'push',
      peer: 'a'
    })
    expect(chooseWorker(storedTask('t', { placement: { tags: ['gpu'] } }), view({ peers }))).toEqual({
      kind: 'push',
      peer: 'b'
    })
    expect(chooseWorker(storedTask('t', { placement: { peer: SELF } }), view({ peers, local: true }))).toEqual({
      kind: 'local'
    })
    expect(chooseWorker(storedTask('t'), view({ peers, dispatchMode: 'pull' }))).toEqual({ kind: 'none' })
  })

  it("matches a placement's tags against the tool advert's and the worker's tags together, and this node's", () => {
    const worker = { accepting: true, maxConcurrency: 4, running: 0, tags: ['cuda'] }
    const peers = (): CatalogPeer[] => [peer('a', { toolTags: ['gpu'] }), peer('b', { toolTags: ['gpu'], worker })]
    const both = storedTask('t', { placement: { tags: ['gpu', 'cuda'] } })
    expect(chooseWorker(both, view({ peers }))).toEqual({ kind: 'push', peer: 'b' })
    expect(chooseWorker(storedTask('t', { placement: { tags: ['tpu'] } }), view({ peers }))).toEqual({ kind: 'none' })
    const local = view({ local: true, localTags: () => ['gpu', 'cuda'] })
    expect(chooseWorker(both, local)).toEqual({ kind: 'local' })
    expect(chooseWorker(both, view({ local: true, localTags: () => ['gpu'] }))).toEqual({ kind: 'none' })
  })

  it('sends a retry to a worker not tried before, and a spread group to different workers', () => {
    const peers = (): CatalogPeer[] => [peer('a'), peer('b')]
    const first = chooseWorker(storedTask('t'), view({ peers }))
    expect(first.kind).toBe('push')
    const tried = (first as { peer: string }).peer
    const retry = storedTask('t', {
      attempts: 1,
      history: [{ attempt: 1, worker: tried, dispatch: 'push', startedAt: 0, outcome: 'failed' }]
    })
    for (let attempts = 1; attempts < 6; attempts++) {
      const choice = chooseWorker({ ...retry, attempts }, view({ peers }))
      expect(choice).toEqual({ kind: 'push', peer: tried === 'a' ? 'b' : 'a' })
    }
    const spread = storedTask('s', { placement: { spread: 'fan' } })
    const busy = view({ peers, spreadWorkers: (key) => (key === 'fan' ? ['a'] : []) })
    expect(chooseWorker(spread, busy)).toEqual({ kind: 'push', peer: 'b' })
  })

  it('lets a peer claim only what its placement allows', () => {
    expect(claimableBy(storedTask('t'), 'a')).toBe(true)
    expect(claimableBy(storedTask('t', { placement: { local: true } }), 'a')).toBe(false)
    expect(claimableBy(storedTask('t', { placement: { peer: 'b' } }), 'a')).toBe(false)
    expect(claimableBy(storedTask('t', { placement: { peer: 'a' } }), 'a')).toBe(true)
  })
})

describe('placement: outbound allowlist and peers share', () => {
  it('never pushes to a peer outside trust.sendTo', () => {
    const peers = (): CatalogPeer[] => [peer('a'), peer('b')]
    expect(chooseWorker(storedTask('t'), view({ peers, maySendTo: (p) => p === 'b' }))).toEqual({
      kind: 'push',
      peer: 'b'
    })
    expect(chooseWorker(storedTask('t'), view({ peers, maySendTo: () => false }))).toEqual({ kind: 'none' })
  })

  it('pushes no more than the slots a worker gives peers (its maxConcurrency less its local share)', () => {
    const peers = (): CatalogPeer[] => [
      peer('a', { worker: { accepting: true, maxConcurrency: 32, running: 0, tags: [] } })
    ]
    expect(chooseWorker(storedTask('t'), view({ peers, outstanding: () => 23 }))).toEqual({ kind: 'push', peer: 'a' })
    expect(chooseWorker(storedTask('t'), view({ peers, outstanding: () => 24 }))).toEqual({ kind: 'busy' })
  })
})
