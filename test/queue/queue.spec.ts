import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type CallToolResult, SERVER_INFO_META_KEY } from '@modelcontextprotocol/server'
import { afterEach, describe, expect, it } from 'vitest'
import type { Task } from '../../src/queue/types.js'
import {
  cleanup,
  createHome,
  createTempDir,
  FIXTURES_DIR,
  type NodeProcess,
  resultText,
  spawnNode,
  tcpAddress,
  type TestHome,
  waitFor
} from '../helpers/index.js'

const PROVIDER_MODULE = join(FIXTURES_DIR, 'mesh-provider.mjs')
const FAST = { catalog: { advertIntervalMs: 500, peerTtlMs: 3_000 }, queue: { leaseMs: 2_000 } }

afterEach(cleanup)

async function provider(name: string, bootstrap: string, extra: Record<string, unknown> = {}): Promise<NodeProcess> {
  const home = await createHome({ config: { tools: [PROVIDER_MODULE], ...FAST, ...extra } })
  return spawnNode({ home: home.dir, args: ['--bootstrap', bootstrap], env: { MESH_TEST_NAME: name } })
}

async function owner(extra: Record<string, unknown> = {}, home?: TestHome): Promise<NodeProcess> {
  const h = home ?? (await createHome({ config: { ...FAST, ...extra } }))
  return spawnNode({ home: h.dir })
}

async function call<T>(node: NodeProcess, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const result = (await node.client.callTool({ name, arguments: args })) as CallToolResult
  if (result.isError === true) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`)
  return result.structuredContent as T
}

/** A tool error (isError, SEP-1303) as an Error carrying its text; fails when the call succeeded. */
async function toolError(node: NodeProcess, name: string, args: Record<string, unknown>): Promise<Error> {
  const result = (await node.client.callTool({ name, arguments: args })) as CallToolResult
  if (result.isError !== true) throw new Error(`${name} succeeded, a tool error was expected`)
  return new Error(result.content.map((block) => (block.type === 'text' ? block.text : '')).join('\n'))
}

async function submit(node: NodeProcess, args: Record<string, unknown>): Promise<Task> {
  return (await call<{ task: Task }>(node, 'task_submit', args)).task
}

async function status(node: NodeProcess, id: string): Promise<Task> {
  return (await call<{ task: Task }>(node, 'task_status', { id })).task
}

async function waitState(node: NodeProcess, id: string, state: Task['state'], timeoutMs = 20_000): Promise<Task> {
  return waitFor(
    async () => {
      const task = await status(node, id)
      return task.state === state ? task : undefined
    },
    { timeoutMs, intervalMs: 50, message: `task ${id} ${state}` }
  )
}

/** Waits until `node`'s catalog lists every peer in `peerIds` as offering `tool`. */
async function waitForWorkers(node: NodeProcess, tool: string, peerIds: string[]): Promise<void> {
  await waitFor(
    async () => {
      const { peers } = await call<{ peers: Array<{ peerId: string; tools: string[] }> }>(node, 'peer_list', {
        withTools: true
      })
      return peerIds.every((id) => peers.some((p) => p.peerId === id && p.tools.includes(tool)))
    },
    { timeoutMs: 20_000, message: `workers for ${tool}` }
  )
}

async function readMarker(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '')
}

describe('task queue across peers', () => {
  it('spreads 500 tasks over two workers with correct results, highest priority first while backed up', {
    timeout: 180_000
  }, async () => {
    // The default 10 s lease: a 2 s one expires on a saturated machine and turns this into a lease-loss test.
    const a = await owner({ queue: { leaseMs: 10_000 } })
    const addr = tcpAddress(await a.status())
    const b = await provider('B', addr)
    const c = await provider('C', addr)
    const workers = [(await b.status()).peerId, (await c.status()).peerId]
    await waitForWorkers(a, 'remote_double', workers)

    await call(a, 'queue_pause')
    const priorities = [0, 5, 10]
    // Submitted in concurrent batches: only the priority classes' order is asserted, not FIFO.
    for (let batch = 0; batch < 500; batch += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const n = batch + i
          return submit(a, { tool: 'remote_double', args: { n }, priority: priorities[n % 3] })
        })
      )
    }
    expect((await call<{ counts: { queued: number } }>(a, 'queue_stats')).counts.queued).toBe(500)
    await call(a, 'queue_resume')
    await waitFor(
      async () => (await call<{ counts: { succeeded: number } }>(a, 'queue_stats')).counts.succeeded === 500,
      {
        timeoutMs: 150_000,
        intervalMs: 100,
        message: '500 tasks succeeded'
      }
    ).catch(async (err: unknown) => {
      // Say whether the queue was slow or stuck, and where.
      const stats = await call(a, 'queue_stats')
      const workers = [await call(b, 'worker_status'), await call(c, 'worker_status')]
      const failed = await call<{ tasks: Task[] }>(a, 'task_list', { state: ['failed', 'dead'], limit: 3 })
      const errors = failed.tasks.map((t) => ({ error: t.error, history: t.history }))
      throw new Error(`${(err as Error).message}: ${JSON.stringify({ stats, workers, errors })}`)
    })

    const tasks: Task[] = []
    let cursor: string | undefined
    do {
      const page = await call<{ tasks: Task[]; nextCursor?: string }>(a, 'task_list', {
        includeArgs: true,
        limit: 500,
        cursor
      })
      tasks.push(...page.tasks)
      cursor = page.nextCursor
    } while (cursor != null)
    expect(tasks).toHaveLength(500)
    for (const task of tasks) {
      const n = task.args.n as number
      expect((task.result as CallToolResult).structuredContent).toMatchObject({ doubled: n * 2 })
      expect(task.attempts).toBe(1)
    }
    const used = new Set(tasks.map((task) => task.worker))
    expect(used).toEqual(new Set(workers))
    // Dispatch order follows priority: every priority-10 task was dispatched no later than any priority-0 one.
    // First dispatch, not the final start: an attempt a busy worker refused stays in the history as `rejected`,
    // and the task runs after a requeue, possibly after lower-priority tasks dispatched in the meantime.
    for (const task of tasks) {
      expect(task.history.filter((h) => h.outcome !== 'rejected').map((h) => h.outcome)).toEqual(['succeeded'])
    }
    const started = (p: number): number[] => tasks.filter((t) => t.priority === p).map((t) => t.history[0]!.startedAt)
    expect(Math.max(...started(10))).toBeLessThanOrEqual(Math.min(...started(5)))
    expect(Math.max(...started(5))).toBeLessThanOrEqual(Math.min(...started(0)))
  })

  it('completes a long task elsewhere when its worker is killed, recording one completion', async () => {
    const a = await owner()
    const addr = tcpAddress(await a.status())
    const b = await provider('B', addr)
    const c = await provider('C', addr)
    const byPeer = new Map([
      [(await b.status()).peerId, b],
      [(await c.status()).peerId, c]
    ])
    await waitForWorkers(a, 'remote_slow', [...byPeer.keys()])
    const dir = await createTempDir()
    const task = await submit(a, { tool: 'remote_slow', args: { durationMs: 1_500, marker: join(dir, 'm') } })
    const running = await waitState(a, task.id, 'running')
    await waitFor(async () => (await readMarker(join(dir, 'm'))) === 'started')
    const victim = byPeer.get(running.worker!)!
    await victim.kill('SIGKILL')

    const done = await waitState(a, task.id, 'succeeded', 30_000)
    expect(done.worker).not.toBe(running.worker)
    expect(done.history.map((h) => h.outcome)).toEqual(['lease-lost', 'succeeded'])
    expect(done.history.filter((h) => h.outcome === 'succeeded')).toHaveLength(1)
    expect(done.attempts).toBe(2)
  })

  it('recovers queued tasks after the submitting node restarts', async () => {
    const home = await createHome({ config: FAST })
    let a = await owner({}, home)
    // No worker yet: the tasks wait, journaled, with a reason.
    const ids: string[] = []
    for (let n = 0; n < 20; n++) ids.push((await submit(a, { tool: 'remote_double', args: { n } })).id)
    expect((await status(a, ids[0]!)).reason).toMatch(/no worker offers tool "remote_double"/)
    await a.kill('SIGTERM')

    a = await owner({}, home)
    expect((await call<{ counts: { queued: number } }>(a, 'queue_stats')).counts.queued).toBe(20)
    await provider('C', tcpAddress(await a.status()))
    for (const [n, id] of ids.entries()) {
      const task = await waitState(a, id, 'succeeded', 30_000)
      expect((task.result as CallToolResult).structuredContent).toMatchObject({ doubled: n * 2 })
    }
  })

  it('loses no acknowledged task when the owner is killed with SIGKILL mid-load', { timeout: 120_000 }, async () => {
    const home = await createHome({ config: FAST })
    let a = await owner({}, home)
    const c = await provider('C', tcpAddress(await a.status()))
    await waitForWorkers(a, 'remote_double', [(await c.status()).peerId])
    // Submissions keep 16 in flight; every answered one is acknowledged (journaled).
    const acknowledged = new Map<string, number>()
    let next = 0
    let stop = false
    const submitter = async (): Promise<void> => {
      while (!stop) {
        const n = next++
        try {
          acknowledged.set((await submit(a, { tool: 'remote_double', args: { n } })).id, n)
        } catch {
          return // the owner died under this call: not acknowledged
        }
      }
    }
    const submitters = Array.from({ length: 16 }, async () => submitter())
    await waitFor(async () => acknowledged.size >= 300, { timeoutMs: 60_000, message: '300 acknowledged tasks' })
    await a.kill('SIGKILL')
    stop = true
    await Promise.all(submitters)

    a = await spawnNode({ home: home.dir, args: ['--bootstrap', tcpAddress(await c.status())] })
    // Every acknowledged task is there after the restart, and finishes once, with its own result.
    for (const id of acknowledged.keys()) await status(a, id)
    for (const [id, n] of acknowledged) {
      const task = await waitState(a, id, 'succeeded', 60_000)
      expect((task.result as CallToolResult).structuredContent).toMatchObject({ doubled: n * 2 })
    }
  })

  it('returns the existing task for a repeated idempotency key and refuses different arguments', async () => {
    const a = await owner()
    await provider('C', tcpAddress(await a.status()))
    const first = await call<{ task: Task; created: boolean }>(a, 'task_submit', {
      tool: 'remote_double',
      args: { n: 1 },
      idempotencyKey: 'job-1'
    })
    const again = await call<{ task: Task; created: boolean }>(a, 'task_submit', {
      tool: 'remote_double',
      args: { n: 1 },
      idempotencyKey: 'job-1'
    })
    expect(first.created).toBe(true)
    expect(again.created).toBe(false)
    expect(again.task.id).toBe(first.task.id)
    const conflict = (await a.client.callTool({
      name: 'task_submit',
      arguments: { tool: 'remote_double', args: { n: 2 }, idempotencyKey: 'job-1' }
    })) as CallToolResult
    expect(conflict.isError).toBe(true)
    expect(resultText(conflict)).toMatch(/idempotencyKey "job-1" is already used/)
    expect((await call<{ total: number }>(a, 'queue_stats')).total).toBe(1)
  })

  it('aborts a running remote task on its worker when cancelled', async () => {
    const a = await owner()
    const c = await provider('C', tcpAddress(await a.status()))
    await waitForWorkers(a, 'remote_slow', [(await c.status()).peerId])
    const marker = join(await createTempDir(), 'm')
    const task = await submit(a, { tool: 'remote_slow', args: { durationMs: 60_000, marker } })
    await waitFor(async () => (await readMarker(marker)) === 'started', { timeoutMs: 20_000 })
    const cancelled = (await call<{ task: Task }>(a, 'task_cancel', { id: task.id, reason: 'test' })).task
    expect(cancelled.state).toBe('cancelled')
    await waitFor(async () => (await readMarker(marker)) === 'aborted', { message: 'handler on C saw the abort' })
    const cancelAgain = await toolError(a, 'task_cancel', { id: task.id })
    expect(cancelAgain.message).toMatch(/already finished \(cancelled\)/)
  })

  it('holds tasks while paused and runs them on resume', async () => {
    const a = await owner()
    const c = await provider('C', tcpAddress(await a.status()))
    const peerC = (await c.status()).peerId
    await waitForWorkers(a, 'remote_double', [peerC])
    await call(a, 'queue_pause')
    const task = await submit(a, { tool: 'remote_double', args: { n: 9 } })
    // A full round trip to C gives the scheduler every chance to (wrongly) dispatch.
    await call(a, 'mesh_call', { peer: peerC, tool: 'echo', arguments: { message: 'tick' } })
    expect((await status(a, task.id)).state).toBe('queued')
    expect((await call<{ paused: boolean }>(a, 'queue_stats')).paused).toBe(true)
    await call(a, 'queue_resume')
    const done = await waitState(a, task.id, 'succeeded')
    expect((done.result as CallToolResult).structuredContent).toMatchObject({ doubled: 18 })
    // The worker's serverInfo (the 2026-07-28 wire's result _meta) is not part of the task's result.
    expect((done.result as CallToolResult)._meta ?? {}).not.toHaveProperty([SERVER_INFO_META_KEY])
  })

  it('retries a flaky tool with backoff until it succeeds', async () => {
    const a = await owner()
    const c = await provider('C', tcpAddress(await a.status()))
    await waitForWorkers(a, 'remote_flaky', [(await c.status()).peerId])
    const counterFile = join(await createTempDir(), 'count')
    const task = await submit(a, { tool: 'remote_flaky', args: { counterFile, failTimes: 2 } })
    expect(task.retry).toMatchObject({ policy: 'exponential', maxAttempts: 3 })
    const done = await waitState(a, task.id, 'succeeded')
    expect(done.attempts).toBe(3)
    expect(done.history.map((h) => h.outcome)).toEqual(['failed', 'failed', 'succeeded'])
    expect(done.history[0]!.error).toContain('flaky failure 1 of 2')
    expect((done.result as CallToolResult).structuredContent).toEqual({ calls: 3 })

    // Out of attempts: dead, with its errors; task_retry runs it once more.
    const dead = await waitState(
      a,
      (await submit(a, { tool: 'remote_flaky', args: { counterFile: `${counterFile}-2`, failTimes: 5 } })).id,
      'dead'
    )
    expect(dead.history).toHaveLength(3)
    const retried = (await call<{ task: Task }>(a, 'task_retry', { id: dead.id })).task
    // Journaled as queued before the reply; the scheduler may already have started it.
    expect(['queued', 'running']).toContain(retried.state)
    const deadAgain = await waitState(a, dead.id, 'dead')
    expect(deadAgain.attempts).toBe(4)
  })

  it('dispatches by pull: workers claim announced tasks', async () => {
    const a = await owner({ queue: { dispatch: 'pull', leaseMs: 2_000 } })
    const c = await provider('C', tcpAddress(await a.status()))
    await waitForWorkers(a, 'remote_double', [(await c.status()).peerId])
    const ids = []
    for (let n = 0; n < 10; n++) ids.push((await submit(a, { tool: 'remote_double', args: { n } })).id)
    for (const [n, id] of ids.entries()) {
      const task = await waitState(a, id, 'succeeded')
      expect(task.history[0]!.dispatch).toBe('pull')
      expect((task.result as CallToolResult).structuredContent).toMatchObject({ doubled: n * 2, node: 'C' })
    }
  })

  it('gives clear errors for bad input and changes nothing', async () => {
    const a = await owner()
    const before = await call<{ total: number }>(a, 'queue_stats')
    const unknown = await toolError(a, 'task_status', { id: 'nope' })
    expect(unknown.message).toMatch(/unknown task "nope"/)
    const badPriority = await toolError(a, 'task_submit', { tool: 'echo', priority: 11 })
    expect(badPriority.message).toMatch(/priority/)
    const noWorker = await toolError(a, 'task_submit', { tool: 'nobody_has_this', failIfNoWorker: true })
    expect(noWorker.message).toMatch(/no worker offers tool "nobody_has_this"/)
    const noConfirm = await toolError(a, 'queue_clear', { states: ['succeeded'] })
    expect(noConfirm.message).toMatch(/confirm: true/)
    expect(await call<{ total: number }>(a, 'queue_stats')).toMatchObject({ total: before.total })

    // A local tool runs on this node as its own worker; a finished task cannot be cancelled.
    const local = await submit(a, { tool: 'echo', args: { message: 'hi' } })
    const done = await waitState(a, local.id, 'succeeded')
    expect(done.history[0]!.dispatch).toBe('local')
    const late = await toolError(a, 'task_cancel', { id: local.id })
    expect(late.message).toMatch(/already finished \(succeeded\)/)
    expect((await status(a, local.id)).state).toBe('succeeded')
  })
})
