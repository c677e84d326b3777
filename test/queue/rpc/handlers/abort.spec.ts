import { describe, expect, it } from 'vitest'
import { abortHandler } from '../../../../src/queue/rpc/handlers/abort.js'
import { callPeerMethod, gatedWorker, testGate } from '../../fixtures.js'

const ctx = { signal: new AbortController().signal, reportProgress: () => {} }

describe('abort handler', () => {
  it('aborts a task running here, naming the owner that cancelled it', async () => {
    const { worker } = gatedWorker()
    const run = worker.execute(
      { id: 't1', token: 'tok', tool: 'gated', args: {}, timeoutMs: 10_000, owner: 'peer-a' },
      ctx
    )
    expect(worker.isRunning('t1')).toBe(true)
    expect(
      await callPeerMethod(abortHandler({ worker, gate: testGate() }), 'peer-a', { taskId: 't1', token: 'tok' })
    ).toEqual({
      aborted: true
    })
    const result = await run
    expect(result.isError).toBe(true)
    expect(worker.isRunning('t1')).toBe(false)
  })

  it('answers false for a task not running here', async () => {
    const { worker } = gatedWorker()
    expect(
      await callPeerMethod(abortHandler({ worker, gate: testGate() }), 'peer-a', { taskId: 'nope', token: 'tok' })
    ).toEqual({
      aborted: false
    })
  })
})
