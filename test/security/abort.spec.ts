import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createTempDir, waitFor } from '../helpers/index.js'
import { Attacker, METHOD_ABORT } from './attacker.js'
import { call, PROVIDER_MODULE, startNode, submit, waitTask } from './nodes.js'

/**
 * `task/abort` from a peer that is not the task's owner. The owner runs
 * `queue.dispatch: "pull"`, so the worker W claims the task over
 * `/mcp+p2p`; task IDs are public (the owner announces them on the task
 * topic), so any peer connected to W can name a running task.
 */

afterEach(cleanup)

async function marker(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '')
}

describe('worker facing a foreign abort', () => {
  it('foreign abort: keeps running a task when a peer other than its owner aborts it with a wrong token', {
    timeout: 90_000
  }, async () => {
    const owner = await startNode('owner', { queue: { dispatch: 'pull', leaseMs: 2_000 } })
    const worker = await startNode('W', { tools: [PROVIDER_MODULE] }, ['--bootstrap', owner.address])
    const dir = await createTempDir()
    const attacker = await Attacker.create()
    await attacker.dial(worker.address)

    // Attack: a 4 s task runs on W for the owner; the attacker aborts it.
    const victimMarker = join(dir, 'victim')
    const task = await submit(owner.node, {
      tool: 'remote_slow',
      args: { durationMs: 4_000, marker: victimMarker },
      retry: { policy: 'none', maxAttempts: 1 }
    })
    await waitFor(async () => (await marker(victimMarker)) === 'started', {
      timeoutMs: 20_000,
      message: 'task started on W'
    })
    const session = await attacker.session(worker.address)
    const reply = await session.exchange(METHOD_ABORT, { taskId: task.id, token: 'not-the-lease-token' })
    const finished = await waitTask(
      owner.node,
      task.id,
      (t) => !['queued', 'running'].includes(t.state),
      30_000,
      'attacked task finished'
    )

    expect(finished.worker).toBe(worker.peerId)
    expect(finished.history[0]?.dispatch).toBe('pull')

    // Control: the real owner's cancel reaches W and stops the handler.
    const controlMarker = join(dir, 'control')
    const control = await submit(owner.node, {
      tool: 'remote_slow',
      args: { durationMs: 60_000, marker: controlMarker },
      retry: { policy: 'none', maxAttempts: 1 }
    })
    await waitFor(async () => (await marker(controlMarker)) === 'started', { timeoutMs: 20_000 })
    await call(owner.node, 'task_cancel', { id: control.id, reason: 'control' })
    await waitFor(async () => (await marker(controlMarker)) === 'aborted', {
      timeoutMs: 10_000,
      message: "the owner's cancel reached W"
    })

    expect.soft(reply.result?.aborted, 'W reported the foreign abort as done').not.toBe(true)
    expect.soft(await marker(victimMarker), "the task's handler on W saw the foreign abort").toBe('started')
    expect.soft(finished.state, `task ${finished.state}: ${finished.error ?? ''}`).toBe('succeeded')
  })
})
