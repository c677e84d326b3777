/**
 * Red-team review: the queue's peer methods do not go through the peer
 * view's inbound limiter, and `attach` waits while the task runs, with a
 * heartbeat timer per waiting request. An owner with one task running here
 * (a pushed task of any exported tool) could send thousands of attach
 * requests for it: each held a request, a promise and an interval timer
 * until the task ended. Open attaches are bounded per (owner, task); beyond
 * the bound the peer is told busy at once (nothing waits, no timer).
 * Control: a restarted owner's one attach per running task all wait and
 * get their results.
 */
import { ProtocolError } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { ERROR_CODE_BUSY } from '../../src/mesh/constants.js'
import { MAX_ATTACHES_PER_TASK } from '../../src/queue/constants.js'
import { attachHandler } from '../../src/queue/rpc/handlers/attach.js'
import { callPeerMethod, gatedWorker } from '../queue/fixtures.js'

const ctx = { signal: new AbortController().signal, reportProgress: () => {} }
const task = { id: 't1', token: 'tok', tool: 'gated', args: {}, timeoutMs: 10_000, owner: 'peer-a' }

describe('attach requests of one owner', () => {
  it('control: one attach per running task of a restarted owner all wait and finish', async () => {
    const { worker, release } = gatedWorker()
    const attach = attachHandler({ worker, leaseMs: 3_000 })
    const ids = ['a', 'b']
    const runs = ids.map(async (id) => worker.execute({ ...task, id, token: `tok-${id}` }, ctx))
    const answers = ids.map(async (id) => callPeerMethod(attach, 'peer-a', { taskId: id, token: `tok-${id}` }))
    let finished = false
    const all = Promise.all(runs).finally(() => {
      finished = true
    })
    // Each run's gate opens once its handler has started: release until both ended.
    while (!finished) {
      release()
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    await all
    for (const answer of answers) expect(await answer).toMatchObject({ state: 'finished' })
  })

  it('are bounded while its task runs: the rest are refused busy at once', async () => {
    const { worker, release } = gatedWorker()
    const attach = attachHandler({ worker, leaseMs: 3_000 })
    const run = worker.execute(task, ctx)
    const settled: Array<{ ok: boolean; value: unknown }> = []
    const flood = Array.from({ length: 1_000 }, async (_, i) =>
      callPeerMethod(
        attach,
        'peer-a',
        { taskId: 't1', token: 'tok', _meta: { progressToken: i } },
        { progressToken: i }
      ).then(
        (value) => settled.push({ ok: true, value }),
        (err: unknown) => settled.push({ ok: false, value: err })
      )
    )
    // Let every refusal settle (they are answered without waiting for the task).
    await new Promise<void>((resolve) => setImmediate(resolve))
    const refused = settled.filter((s) => !s.ok)
    expect(refused.length).toBe(1_000 - MAX_ATTACHES_PER_TASK)
    expect(refused.every((s) => s.value instanceof ProtocolError && s.value.code === ERROR_CODE_BUSY)).toBe(true)
    // Another owner is not affected (it learns nothing of peer-a's run, as before).
    expect(await callPeerMethod(attach, 'peer-b', { taskId: 't1', token: 'tok' })).toEqual({ state: 'unknown' })

    release()
    await run
    await Promise.all(flood)
    const waited = settled.filter((s) => s.ok)
    expect(waited).toHaveLength(MAX_ATTACHES_PER_TASK)
    expect(waited.every((s) => (s.value as { state: string }).state === 'finished')).toBe(true)
    // The bound is released: a later attach is answered.
    expect(await callPeerMethod(attach, 'peer-a', { taskId: 't1', token: 'tok' })).toMatchObject({ state: 'finished' })
  })
})
