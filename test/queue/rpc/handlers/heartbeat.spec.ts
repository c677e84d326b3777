import { describe, expect, it } from 'vitest'
import { heartbeatHandler } from '../../../../src/queue/rpc/handlers/heartbeat.js'
import { callPeerMethod, ownerParts, queued, storedTask } from '../../fixtures.js'

async function running() {
  const parts = await ownerParts({ leaseMs: 5_000 })
  const task = queued(parts, storedTask('t1'))
  parts.scheduler.dequeue(task)
  const lease = parts.leases.start(task, 'peer-a', 'pull')
  lease.expiresAt = 0
  const heartbeat = heartbeatHandler({ leases: parts.leases, task: (id) => parts.store.get(id) })
  return { ...parts, task, lease, heartbeat }
}

describe('heartbeat handler', () => {
  it('renews the lease of the peer holding it, with its token', async () => {
    const { heartbeat, lease } = await running()
    const before = Date.now()
    expect(await callPeerMethod(heartbeat, 'peer-a', { taskId: 't1', token: lease.token })).toEqual({
      ok: true,
      cancel: false
    })
    expect(lease.expiresAt).toBeGreaterThanOrEqual(before + 5_000)
  })

  it('does not renew for a wrong token or another peer', async () => {
    const { heartbeat, lease } = await running()
    expect(await callPeerMethod(heartbeat, 'peer-a', { taskId: 't1', token: 'forged' })).toEqual({
      ok: false,
      cancel: false
    })
    expect(await callPeerMethod(heartbeat, 'peer-b', { taskId: 't1', token: lease.token })).toEqual({
      ok: false,
      cancel: false
    })
    expect(await callPeerMethod(heartbeat, 'peer-a', { taskId: 'unknown', token: lease.token })).toEqual({
      ok: false,
      cancel: false
    })
    expect(lease.expiresAt).toBe(0)
  })

  it('tells the worker to stop once the task is cancelled', async () => {
    const { heartbeat, lease, leases, task } = await running()
    leases.cancel(task, 'cancelled by the user')
    expect(await callPeerMethod(heartbeat, 'peer-a', { taskId: 't1', token: lease.token })).toEqual({
      ok: false,
      cancel: true
    })
  })

  it("stops renewing once the task's timeout plus grace has passed, however often the worker beats", async () => {
    const { heartbeat, lease } = await running()
    lease.deadline = Date.now() - 1
    expect(await callPeerMethod(heartbeat, 'peer-a', { taskId: 't1', token: lease.token })).toEqual({
      ok: false,
      cancel: false
    })
    expect(lease.expiresAt).toBe(0)
  })
})
