import type { ProtocolError } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { ERROR_CODE_BUSY } from '../../../src/mesh/constants.js'
import { localReserve, MAX_RECENT_RESULTS_PER_OWNER, peerSlots } from '../../../src/queue/constants.js'
import { TaskWorker } from '../../../src/queue/worker/task-worker.js'
import { RuntimeRouter } from '../../../src/router/router.js'
import { ToolRegistry } from '../../../src/tools/registry.js'
import { rejectionOf, testTool } from '../../helpers/index.js'

function gatedWorker(maxConcurrency: number) {
  const registry = new ToolRegistry()
  const gates: Array<() => void> = []
  let running = 0
  let peak = 0
  registry.register(
    testTool('gated', {
      meta: { export: true },
      handler: async (_args, { signal }) => {
        running++
        peak = Math.max(peak, running)
        await new Promise<void>((resolve, reject) => {
          gates.push(resolve)
          signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })
        })
        running--
        return { ok: true }
      }
    })
  )
  registry.register(testTool('private'))
  const host = {
    registry,
    router: new RuntimeRouter(registry),
    isExported: (n: string) => registry.get(n)?.meta.export === true
  }
  const worker = new TaskWorker(host, { maxConcurrency })
  const ctx = { signal: new AbortController().signal, reportProgress: () => {} }
  const task = (id: string) => ({ id, token: `t-${id}`, tool: 'gated', args: {}, timeoutMs: 10_000, owner: 'peer-a' })
  return { worker, gates, ctx, task, peak: () => peak }
}

describe('TaskWorker', () => {
  it('never runs more than maxConcurrency tasks; extra ones are refused as BUSY without running', async () => {
    const { worker, gates, ctx, task, peak } = gatedWorker(2)
    const one = worker.execute(task('1'), ctx)
    const two = worker.execute(task('2'), ctx)
    const three = await rejectionOf<ProtocolError>(worker.execute(task('3'), ctx))
    expect(three.code).toBe(ERROR_CODE_BUSY)
    expect(worker.status()).toMatchObject({ running: 2 })
    for (const open of gates) open()
    await Promise.all([one, two])
    expect(peak()).toBe(2)
    expect(worker.status()).toMatchObject({ running: 0, done: 2, failed: 0 })
  })

  it('counts slots reserved by claims in flight, and a released reservation goes to the run', async () => {
    const { worker, gates, ctx, task } = gatedWorker(2)
    const first = worker.reserve()
    const second = worker.reserve()
    expect(first).toBeTypeOf('function')
    expect(second).toBeTypeOf('function')
    // An announcement listing a third task finds no slot while two claims are pending.
    expect(worker.reserve()).toBeUndefined()
    expect(worker.freeSlots).toBe(0)
    // A claim that was not granted gives its slot back (twice is harmless).
    second!()
    second!()
    expect(worker.freeSlots).toBe(1)
    // A granted claim releases into execute in the same tick: the run holds the slot.
    first!()
    const run = worker.execute(task('1'), ctx)
    expect(worker.freeSlots).toBe(1)
    expect(worker.status()).toMatchObject({ running: 1 })
    for (const open of gates) open()
    await run
    expect(worker.freeSlots).toBe(2)
  })

  it('offers only exported tools to peers unless registered for specific tools', () => {
    const { worker } = gatedWorker(1)
    expect(worker.offers('gated', 'peer')).toBe(true)
    expect(worker.offers('private', 'peer')).toBe(false)
    expect(worker.offers('private', 'local')).toBe(true)
    worker.register({ tools: ['private'], tags: ['gpu'], maxConcurrency: 1, limits: {} })
    expect(worker.offers('gated', 'peer')).toBe(false)
    expect(worker.offers('private', 'peer')).toBe(true)
  })

  it('re-leases: attach returns the result of a finished task for the same token only', async () => {
    const { worker, gates, ctx, task } = gatedWorker(1)
    const run = worker.execute(task('7'), ctx)
    const attached = worker.attach('7', 't-7', new AbortController().signal)
    gates[0]!()
    await run
    expect((await attached)?.structuredContent).toEqual({ ok: true })
    expect((await worker.attach('7', 't-7', new AbortController().signal))?.structuredContent).toEqual({ ok: true })
    expect(await worker.attach('7', 'other-token', new AbortController().signal)).toBeUndefined()
  })

  it('drains on unregister, or abandons running tasks', async () => {
    const drained = gatedWorker(2)
    const running = drained.worker.execute(drained.task('1'), drained.ctx)
    const unregistering = drained.worker.unregister('drain', 10_000)
    expect(drained.worker.freeSlots).toBe(0)
    drained.gates[0]!()
    await running
    expect(await unregistering).toEqual({ drained: 1, abandoned: 0 })
    expect(drained.worker.status().registered).toBe(false)

    const abandoned = gatedWorker(2)
    const aborted = abandoned.worker.execute(abandoned.task('1'), abandoned.ctx)
    expect(await abandoned.worker.unregister('abandon', 0)).toEqual({ drained: 0, abandoned: 1 })
    expect((await aborted).isError).toBe(true)
  })
})

describe('TaskWorker: the local share and runs keyed by owner', () => {
  it("keeps a quarter of its slots for the node's own tasks: peers' tasks are refused as BUSY there", async () => {
    const { worker, gates, ctx, task } = gatedWorker(4)
    expect(localReserve(4)).toBe(1)
    expect(peerSlots(4)).toBe(3)
    const peers = [worker.execute(task('1'), ctx), worker.execute(task('2'), ctx), worker.execute(task('3'), ctx)]
    expect(worker.freePeerSlots).toBe(0)
    expect(worker.reserve()).toBeUndefined()
    const refused = await rejectionOf<ProtocolError>(worker.execute(task('4'), ctx))
    expect(refused.code).toBe(ERROR_CODE_BUSY)
    expect(refused.message).toContain('slots for peers are full')
    // The node's own task still finds its slot.
    const own = worker.execute({ ...task('own'), owner: 'local' }, ctx)
    expect(worker.status()).toMatchObject({ running: 4 })
    for (const open of gates) open()
    await Promise.all([...peers, own])
  })

  it('keeps no share back below 4 slots, so a small worker still serves peers', () => {
    expect(localReserve(1)).toBe(0)
    expect(localReserve(3)).toBe(0)
    expect(peerSlots(32)).toBe(24)
  })

  it('keys runs by owner: the same task id from two owners runs twice; abort needs the owner and the token', async () => {
    const { worker, gates, ctx, task } = gatedWorker(4)
    const a = worker.execute(task('same'), ctx)
    const b = worker.execute({ ...task('same'), owner: 'peer-b', token: 'other' }, ctx)
    expect(worker.status().running).toBe(2)
    expect(worker.isRunning('same', 'peer-a')).toBe(true)
    expect(worker.isRunning('same', 'peer-c')).toBe(false)
    expect(worker.abort('peer-c', 'same', 't-same')).toBe('not-running')
    expect(worker.abort('peer-a', 'same', 'other')).toBe('wrong-token')
    expect(worker.abort('peer-b', 'same', 'other')).toBe('aborted')
    expect((await b).isError).toBe(true)
    gates[0]!()
    expect((await a).isError).not.toBe(true)
    // A second lease of a task already running here is refused as BUSY (nothing ran twice).
    const again = worker.execute(task('twice'), ctx)
    const twice = await rejectionOf<ProtocolError>(worker.execute({ ...task('twice'), token: 'new' }, ctx))
    expect(twice.code).toBe(ERROR_CODE_BUSY)
    gates.at(-1)!()
    await again
  })

  it('restarts the owner pump when a claim gives its reserved slot back', () => {
    const registry = new ToolRegistry()
    let freed = 0
    const host = { registry, router: new RuntimeRouter(registry), isExported: () => true }
    const worker = new TaskWorker(host, { maxConcurrency: 4, onSlotFree: () => freed++ })
    const slot = worker.reserve()!
    slot()
    slot()
    expect(freed).toBe(1)
  })

  it("ends a run at the tool's own timeout or at the task's, whichever comes first, aborting the tool", async () => {
    const registry = new ToolRegistry()
    const aborted: string[] = []
    registry.register(
      testTool('stuck', {
        meta: { export: true, timeoutMs: 30 },
        handler: async (_args, { signal }) =>
          new Promise((_resolve, reject) =>
            signal.addEventListener(
              'abort',
              () => {
                aborted.push(String((signal.reason as Error).name))
                reject(new Error('aborted'))
              },
              { once: true }
            )
          )
      })
    )
    const host = { registry, router: new RuntimeRouter(registry), isExported: () => true }
    const worker = new TaskWorker(host, { maxConcurrency: 4 })
    const ctx = { signal: new AbortController().signal, reportProgress: () => {} }
    const run = (id: string, timeoutMs: number) =>
      worker.execute({ id, token: `t-${id}`, tool: 'stuck', args: {}, timeoutMs, owner: 'peer-a' }, ctx)
    // The tool's timeout (30 ms) first.
    const byTool = await run('1', 10_000)
    expect(byTool.isError).toBe(true)
    expect(JSON.stringify(byTool.content)).toContain('timed out')
    // The task's timeout (10 ms) first.
    const byTask = await run('2', 10)
    expect(byTask.isError).toBe(true)
    expect(JSON.stringify(byTask.content)).toContain('timeout')
    expect(aborted).toEqual(['ToolTimeoutError', 'TimeoutError'])
    expect(worker.status()).toMatchObject({ running: 0, failed: 2 })
  })

  it("bounds the results kept for re-leases per owner, dropping the owner's oldest first", async () => {
    const registry = new ToolRegistry()
    registry.register(testTool('quick', { meta: { export: true } }))
    const host = { registry, router: new RuntimeRouter(registry), isExported: () => true }
    const worker = new TaskWorker(host, { maxConcurrency: 4 })
    const ctx = { signal: new AbortController().signal, reportProgress: () => {} }
    const run = (owner: string, id: string) =>
      worker.execute({ id, token: `t-${id}`, tool: 'quick', args: {}, timeoutMs: 10_000, owner }, ctx)
    await run('peer-b', 'kept')
    for (let n = 0; n <= MAX_RECENT_RESULTS_PER_OWNER; n++) await run('peer-a', `r${n}`)
    const signal = new AbortController().signal
    expect(await worker.attach('r0', 't-r0', signal, 'peer-a')).toBeUndefined()
    expect(await worker.attach('r1', 't-r1', signal, 'peer-a')).toBeDefined()
    expect(await worker.attach('kept', 't-kept', signal, 'peer-b')).toBeDefined()
    expect(await worker.attach('kept', 't-kept', signal, 'peer-a')).toBeUndefined()
  })
})
