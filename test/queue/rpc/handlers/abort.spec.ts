import type { ProtocolError } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { ERROR_CODE_DENIED } from '../../../../src/mesh/constants.js'
import { abortHandler } from '../../../../src/queue/rpc/handlers/abort.js'
import { rejectionOf } from '../../../helpers/index.js'
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

describe('abort handler: only the owner, with the lease token', () => {
  it("answers not aborted to a peer naming another owner's task, and leaves the run alone", async () => {
    const { worker, release } = gatedWorker()
    const gate = testGate()
    const run = worker.execute(
      { id: 't1', token: 'tok', tool: 'gated', args: {}, timeoutMs: 10_000, owner: 'peer-a' },
      ctx
    )
    expect(await callPeerMethod(abortHandler({ worker, gate }), 'peer-x', { taskId: 't1', token: 'tok' })).toEqual({
      aborted: false
    })
    expect(worker.isRunning('t1', 'peer-a')).toBe(true)
    release()
    expect((await run).isError).not.toBe(true)
  })

  it('denies the owner a wrong token, counting the refusal on task-abort', async () => {
    const { worker, release } = gatedWorker()
    const gate = testGate()
    const run = worker.execute(
      { id: 't1', token: 'tok', tool: 'gated', args: {}, timeoutMs: 10_000, owner: 'peer-a' },
      ctx
    )
    const denied = await rejectionOf<ProtocolError>(
      callPeerMethod(abortHandler({ worker, gate }), 'peer-a', { taskId: 't1', token: 'forged' })
    )
    expect(denied.code).toBe(ERROR_CODE_DENIED)
    expect(gate.stats().inbound['task-abort'].denied).toBe(1)
    expect(worker.isRunning('t1', 'peer-a')).toBe(true)
    release()
    expect((await run).isError).not.toBe(true)
  })

  it('denies a peer the gate does not admit', async () => {
    const { worker } = gatedWorker()
    const gate = testGate({ allowPeers: ['peer-b'] })
    const denied = await rejectionOf<ProtocolError>(
      callPeerMethod(abortHandler({ worker, gate }), 'peer-a', { taskId: 't1', token: 'tok' })
    )
    expect(denied.code).toBe(ERROR_CODE_DENIED)
    expect(gate.stats().inbound['task-abort'].denied).toBe(1)
  })
})
