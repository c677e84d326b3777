import { describe, expect, it } from 'vitest'
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
})
