import { describe, expect, it } from 'vitest'
import { claimHandler } from '../../../../src/queue/rpc/handlers/claim.js'
import { queueRpcHost } from '../../../../src/queue/rpc/index.js'
import { callPeerMethod, catalogPeer, gatedWorker, ownerParts, queued, storedTask, testGate } from '../../fixtures.js'

async function setup(options: { paused?: boolean } = {}) {
  const parts = await ownerParts()
  parts.store.paused = options.paused === true
  const host = queueRpcHost({
    ...parts,
    worker: gatedWorker().worker,
    leaseMs: 1_000,
    peers: () => [catalogPeer('peer-a'), catalogPeer('peer-b')],
    gate: testGate()
  })
  return { ...parts, claim: claimHandler(host) }
}

describe('claim handler', () => {
  it('grants a queued, ready task with a fresh lease held by the claiming peer', async () => {
    const { claim, store, leases, scheduler } = await setup()
    queued({ store, scheduler }, storedTask('t1'))
    const answer = await callPeerMethod(claim, 'peer-a', { taskId: 't1' })
    expect(answer).toMatchObject({ granted: true, task: { id: 't1', tool: 'echo', leaseMs: 1_000 } })
    const token = (answer as { task: { token: string } }).task.token
    expect(leases.held('t1', token, 'peer-a')).toBeDefined()
    expect(store.get('t1')).toMatchObject({ state: 'running', worker: 'peer-a', attempts: 1 })
    expect(scheduler.open(10)).toEqual([])
    // A second claim of the same task is refused: it is running now.
    expect(await callPeerMethod(claim, 'peer-b', { taskId: 't1' })).toEqual({
      granted: false,
      reason: 'task is running'
    })
  })

  it('refuses unknown, delayed and finished tasks, and any task while paused', async () => {
    const { claim, store, scheduler } = await setup()
    expect(await callPeerMethod(claim, 'peer-a', { taskId: 'nope' })).toEqual({
      granted: false,
      reason: 'unknown task'
    })
    queued({ store, scheduler }, storedTask('later', { runAt: Date.now() + 60_000 }))
    expect(await callPeerMethod(claim, 'peer-a', { taskId: 'later' })).toMatchObject({ granted: false })
    store.add(storedTask('done', { state: 'succeeded' }))
    expect(await callPeerMethod(claim, 'peer-a', { taskId: 'done' })).toEqual({
      granted: false,
      reason: 'task is succeeded'
    })

    const paused = await setup({ paused: true })
    queued(paused, storedTask('t1'))
    expect(await callPeerMethod(paused.claim, 'peer-a', { taskId: 't1' })).toMatchObject({ granted: false })
    expect(paused.store.get('t1')?.state).toBe('queued')
  })

  it('refuses a peer the placement excludes', async () => {
    const { claim, store, scheduler } = await setup()
    queued({ store, scheduler }, storedTask('local', { placement: { local: true } }))
    queued({ store, scheduler }, storedTask('pinned', { seq: 2, placement: { peer: 'peer-b' } }))
    const refusal = { granted: false, reason: 'placement does not allow this peer' }
    expect(await callPeerMethod(claim, 'peer-a', { taskId: 'local' })).toEqual(refusal)
    expect(await callPeerMethod(claim, 'peer-a', { taskId: 'pinned' })).toEqual(refusal)
    expect(await callPeerMethod(claim, 'peer-b', { taskId: 'pinned' })).toMatchObject({ granted: true })
  })

  it('grants a better-ranked queued task of the same tool instead of the claimed one', async () => {
    const { claim, store, scheduler } = await setup()
    queued({ store, scheduler }, storedTask('low', { seq: 1, priority: 2 }))
    queued({ store, scheduler }, storedTask('high', { seq: 2, priority: 9 }))
    queued({ store, scheduler }, storedTask('other-tool', { seq: 3, priority: 10, tool: 'sha256' }))
    queued({ store, scheduler }, storedTask('tagged', { seq: 4, priority: 10, placement: { tags: ['gpu'] } }))
    const answer = await callPeerMethod(claim, 'peer-a', { taskId: 'low' })
    expect(answer).toMatchObject({ granted: true, task: { id: 'high' } })
    expect(store.get('low')?.state).toBe('queued')
    expect(store.get('high')?.state).toBe('running')
  })

  it('rejects malformed params before the handler runs', async () => {
    const { claim } = await setup()
    await expect(callPeerMethod(claim, 'peer-a', { taskId: '' })).rejects.toThrow()
    await expect(callPeerMethod(claim, 'peer-a', { taskId: 't1', extra: 1 })).rejects.toThrow()
  })
})
