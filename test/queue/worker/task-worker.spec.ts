import type { ProtocolError } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { ERROR_CODE_BUSY } from '../../../src/mesh/constants.js'
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
