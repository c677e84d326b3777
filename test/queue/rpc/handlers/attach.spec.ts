import { afterEach, describe, expect, it, vi } from 'vitest'
import { attachHandler } from '../../../../src/queue/rpc/handlers/attach.js'
import { callPeerMethod, gatedWorker } from '../../fixtures.js'

const ctx = { signal: new AbortController().signal, reportProgress: () => {} }
const task = { id: 't1', token: 'tok', tool: 'gated', args: {}, timeoutMs: 10_000, owner: 'peer-a' }

describe('attach handler', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('hands a restarted owner the result of a task run here, only with its token', async () => {
    const { worker, release } = gatedWorker()
    const attach = attachHandler({ worker, leaseMs: 3_000 })
    const run = worker.execute(task, ctx)
    release()
    await run
    expect(await callPeerMethod(attach, 'peer-a', { taskId: 't1', token: 'tok' })).toMatchObject({
      state: 'finished',
      result: { structuredContent: { ok: true } }
    })
    expect(await callPeerMethod(attach, 'peer-a', { taskId: 't1', token: 'forged' })).toEqual({ state: 'unknown' })
    expect(await callPeerMethod(attach, 'peer-a', { taskId: 'nope', token: 'tok' })).toEqual({ state: 'unknown' })
  })

  it('waits for a running task, sending progress heartbeats meanwhile', async () => {
    vi.useFakeTimers()
    const { worker, release } = gatedWorker()
    const notify = vi.fn(async () => {})
    const run = worker.execute(task, ctx)
    const answer = callPeerMethod(
      attachHandler({ worker, leaseMs: 300 }),
      'peer-a',
      { taskId: 't1', token: 'tok', _meta: { progressToken: 7 } },
      { notify, progressToken: 7 }
    )
    await vi.advanceTimersByTimeAsync(350)
    expect(notify).toHaveBeenCalledTimes(3)
    expect(notify).toHaveBeenCalledWith('notifications/progress', expect.objectContaining({ progressToken: 7 }))
    release()
    await run
    expect(await answer).toMatchObject({ state: 'finished' })
    await vi.advanceTimersByTimeAsync(500)
    expect(notify).toHaveBeenCalledTimes(3)
  })

  it("tells a peer other than the task's owner nothing, even with the token", async () => {
    const { worker, release } = gatedWorker()
    const attach = attachHandler({ worker, leaseMs: 3_000 })
    const run = worker.execute(task, ctx)
    expect(await callPeerMethod(attach, 'peer-x', { taskId: 't1', token: 'tok' })).toEqual({ state: 'unknown' })
    release()
    await run
    expect(await callPeerMethod(attach, 'peer-x', { taskId: 't1', token: 'tok' })).toEqual({ state: 'unknown' })
    expect(await callPeerMethod(attach, 'peer-a', { taskId: 't1', token: 'tok' })).toMatchObject({ state: 'finished' })
  })
})
