import { describe, expect, it } from 'vitest'
import { MAX_HAND_BACKS } from '../../../../src/queue/constants.js'
import { completeHandler } from '../../../../src/queue/rpc/handlers/complete.js'
import { callPeerMethod, ownerParts, queued, storedTask } from '../../fixtures.js'

const result = { content: [{ type: 'text', text: 'done' }] }

async function running() {
  const parts = await ownerParts()
  const task = queued(parts, storedTask('t1'))
  parts.scheduler.dequeue(task)
  const lease = parts.leases.start(task, 'peer-a', 'pull')
  return { ...parts, task, lease, complete: completeHandler({ leases: parts.leases }) }
}

describe('complete handler', () => {
  it('records the result reported by the lease holder', async () => {
    const { complete, lease, store } = await running()
    expect(await callPeerMethod(complete, 'peer-a', { taskId: 't1', token: lease.token, result })).toEqual({
      accepted: true
    })
    expect(store.get('t1')).toMatchObject({ state: 'succeeded', result })
    expect(store.get('t1')?.history.at(-1)?.outcome).toBe('succeeded')
  })

  it('ignores a result with a wrong token or from another peer', async () => {
    const { complete, lease, store } = await running()
    expect(await callPeerMethod(complete, 'peer-a', { taskId: 't1', token: 'stale', result })).toEqual({
      accepted: false
    })
    expect(await callPeerMethod(complete, 'peer-b', { taskId: 't1', token: lease.token, result })).toEqual({
      accepted: false
    })
    expect(store.get('t1')?.state).toBe('running')
  })

  it('requeues a task the worker did not run, without spending the attempt', async () => {
    const { complete, lease, store, scheduler } = await running()
    const answer = await callPeerMethod(complete, 'peer-a', {
      taskId: 't1',
      token: lease.token,
      result: { content: [] },
      notExecuted: 'busy: worker is at maxConcurrency'
    })
    expect(answer).toEqual({ accepted: true })
    const task = store.get('t1')!
    expect(task).toMatchObject({ state: 'queued', attempts: 0, reason: 'busy: worker is at maxConcurrency' })
    expect(task.history.at(-1)?.outcome).toBe('rejected')
    expect(scheduler.open(10).map((open) => open.id)).toEqual(['t1'])
    // The lease is gone: a late report with the same token is stale.
    expect(await callPeerMethod(complete, 'peer-a', { taskId: 't1', token: lease.token, result })).toEqual({
      accepted: false
    })
  })

  it('counts hand-backs: every MAX_HAND_BACKS-th counts as a lost lease, so a peer cannot cycle a task forever', async () => {
    const { complete, lease, store, scheduler, leases } = await running()
    let token = lease.token
    for (let handBack = 1; handBack <= MAX_HAND_BACKS; handBack++) {
      expect(
        await callPeerMethod(complete, 'peer-a', { taskId: 't1', token, result: { content: [] }, notExecuted: 'busy' })
      ).toEqual({ accepted: true })
      const task = store.get('t1')!
      expect(task.state).toBe('queued')
      if (handBack < MAX_HAND_BACKS) {
        expect(task).toMatchObject({ attempts: 0 })
        expect(task.history.at(-1)?.outcome).toBe('rejected')
        scheduler.dequeue(task)
        token = leases.start(task, 'peer-a', 'pull').token
      }
    }
    const task = store.get('t1')!
    expect(task).toMatchObject({ attempts: 1, leaseLosses: 1 })
    expect(task.history.at(-1)).toMatchObject({ outcome: 'lease-lost' })
    expect(task.history.at(-1)?.error).toContain(`handed back ${MAX_HAND_BACKS} times`)
    expect(leases.coolingDown('peer-a', Date.now())).toBe(true)
  })
})
