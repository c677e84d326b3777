// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} in strings is the workflow template syntax under test
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MemoryDatastore } from 'datastore-core'
import { afterEach, describe, expect, it } from 'vitest'
import { WorkflowEngine, type WorkflowLimits } from '../../src/workflow/index.js'
import type { WorkflowStepEvent } from '../../src/workflow/types.js'
import type { ToolShape } from '../../src/workflow/validate.js'
import { FakeQueue, gate, sleepUnlessAborted } from './fake-queue.js'

const engines: WorkflowEngine[] = []

afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.stop()
})

const SHAPES: Record<string, ToolShape> = {
  num: { outputSchema: { type: 'object', properties: { n: { type: 'number' } }, additionalProperties: false } },
  add: { inputSchema: { type: 'object', properties: { values: { type: 'array' } }, required: ['values'] } },
  list: { outputSchema: { type: 'object', properties: { items: { type: 'array' } } } },
  double: { outputSchema: { type: 'object', properties: { n: { type: 'number' } } } },
  fail: {},
  slow: {},
  echo: {}
}

function fakeTools(queue: FakeQueue): FakeQueue {
  return queue
    .on('num', async (args) => ({ n: Number(args.n ?? 1) }))
    .on('add', async (args) => ({ sum: (args.values as number[]).reduce((a, b) => a + b, 0) }))
    .on('list', async (args) => ({ items: args.items ?? [1, 2, 3] }))
    .on('double', async (args, { signal }) => {
      // Later items finish first, so fan-in order is checked for real.
      await sleepUnlessAborted(Number(args.delayMs ?? 0), signal)
      return { n: Number(args.n) * 2 }
    })
    .on('fail', async () => {
      throw new Error('boom')
    })
    .on('slow', async (args, { signal }) => {
      await sleepUnlessAborted(Number(args.ms ?? 60_000), signal)
      return { done: true }
    })
    .on('echo', async (args) => args)
}

async function setup(
  options: { queue?: FakeQueue; datastore?: MemoryDatastore; limits?: Partial<WorkflowLimits> } = {}
): Promise<{ engine: WorkflowEngine; queue: FakeQueue; datastore: MemoryDatastore }> {
  const queue = options.queue ?? fakeTools(new FakeQueue())
  const datastore = options.datastore ?? new MemoryDatastore()
  const engine = new WorkflowEngine({
    queue,
    datastore,
    owner: 'owner-peer',
    describeTool: (name) => SHAPES[name],
    limits: options.limits
  })
  await engine.start()
  engines.push(engine)
  return { engine, queue, datastore }
}

describe('workflow engine (fake queue)', () => {
  it('runs a diamond: d receives the outputs of b and c, each step once', async () => {
    const { engine, queue } = await setup()
    const submitted = await engine.submit({
      name: 'diamond',
      steps: [
        { id: 'a', tool: 'num', args: { n: 5 } },
        { id: 'b', tool: 'double', args: { n: { $ref: 'steps.a.output.n' } } },
        { id: 'c', tool: 'double', args: { n: '${steps.a.output.n}' } },
        { id: 'd', tool: 'add', args: { values: [{ $ref: 'steps.b.output.n' }, { $ref: 'steps.c.output.n' }] } }
      ]
    })
    expect(submitted.state).toBe('running')
    const done = await engine.wait(submitted.workflowId, { timeoutMs: 5_000 })
    expect(done.state).toBe('succeeded')
    expect(done.steps.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded'])
    expect(done.steps.find((s) => s.id === 'd')?.dependsOn).toEqual(['b', 'c'])
    const result = await engine.result(submitted.workflowId, 'all')
    expect(result.final).toEqual({ sum: 20 })
    expect(result.outputs).toEqual({ a: { n: 5 }, b: { n: 10 }, c: { n: 10 }, d: { sum: 20 } })
    expect(queue.executions.map((e) => e.tool).sort()).toEqual(['add', 'double', 'double', 'num'])
    // A whole-string template keeps the value's type.
    expect(queue.executions.find((e) => e.tool === 'double' && typeof e.args.n === 'number')).toBeDefined()
  })

  it('fans out with forEach and fans in, in item order, even when items finish out of order', async () => {
    const { engine, queue } = await setup()
    const { workflowId } = await engine.submit({
      name: 'fan',
      maxParallel: 8,
      steps: [
        { id: 'list', tool: 'list', args: { items: [40, 30, 20, 10, 0].map((d, i) => ({ n: i + 1, d })) } },
        {
          id: 'each',
          tool: 'double',
          forEach: 'steps.list.output.items',
          placement: 'spread',
          args: { n: { $ref: 'item.n' }, delayMs: '${item.d}', index: '${index}' }
        },
        { id: 'fanIn', tool: 'echo', args: { all: { $ref: 'steps.each.output' }, last: '${steps.each.output[4].n}' } }
      ],
      output: {
        doubled: { $ref: 'steps.fanIn.output.all' },
        last: { $ref: 'steps.fanIn.output.last' },
        name: '${workflow.name}'
      }
    })
    const done = await engine.wait(workflowId, { timeoutMs: 5_000 })
    expect(done.state).toBe('succeeded')
    const each = done.steps.find((s) => s.id === 'each')!
    expect(each.items).toEqual({ total: 5, succeeded: 5, failed: 0, running: 0, cancelled: 0 })
    expect(each.peers.length).toBe(3)
    expect(each.taskIds).toHaveLength(5)
    const result = await engine.result(workflowId)
    expect(result.final).toEqual({
      doubled: [{ n: 2 }, { n: 4 }, { n: 6 }, { n: 8 }, { n: 10 }],
      last: 10,
      name: 'fan'
    })
    // Later items finished first (shorter delays), yet the fan-in is in item order.
    const finished = [...queue.tasks.values()]
      .filter((t) => t.tool === 'double')
      .sort((a, b) => a.finishedAt! - b.finishedAt!)
    expect(finished.map((t) => t.args.n)).not.toEqual([1, 2, 3, 4, 5])
    expect(queue.tasks.size).toBe(7)
  })

  it('counts the workflows it knows by state', async () => {
    const { engine } = await setup()
    expect(engine.countsByState()).toEqual({})
    const done = await engine.submit({ name: 'one', steps: [{ id: 'a', tool: 'num', args: { n: 1 } }] })
    await engine.wait(done.workflowId, { timeoutMs: 5_000 })
    const running = await engine.submit({ name: 'two', steps: [{ id: 's', tool: 'slow', args: { ms: 60_000 } }] })
    expect(engine.countsByState()).toEqual({ succeeded: 1, running: 1 })
    await engine.cancel(running.workflowId)
  })

  it('an empty forEach list succeeds with [] and runs no task', async () => {
    const { engine, queue } = await setup()
    const { workflowId } = await engine.submit({
      name: 'empty',
      steps: [
        { id: 'list', tool: 'list', args: { items: [] } },
        { id: 'each', tool: 'double', forEach: { $ref: 'steps.list.output.items' }, args: { n: '${item}' } }
      ]
    })
    const done = await engine.wait(workflowId, { timeoutMs: 5_000 })
    expect(done.state).toBe('succeeded')
    expect((await engine.result(workflowId)).final).toEqual([])
    expect(queue.executions.filter((e) => e.tool === 'double')).toHaveLength(0)
  })

  it('fail-fast cancels running steps, skips pending ones, and fails the workflow', async () => {
    const { engine, queue } = await setup()
    const { workflowId } = await engine.submit({
      name: 'ff',
      steps: [
        { id: 'slow', tool: 'slow', args: { ms: 60_000 } },
        { id: 'bad', tool: 'fail', dependsOn: [] },
        { id: 'after', tool: 'echo', dependsOn: ['slow'] },
        { id: 'afterBad', tool: 'echo', dependsOn: ['bad'] }
      ]
    })
    const done = await engine.wait(workflowId, { timeoutMs: 5_000 })
    expect(done.state).toBe('failed')
    expect(done.error).toMatch(/step "bad" failed: boom/)
    const states = Object.fromEntries(done.steps.map((s) => [s.id, s.state]))
    expect(states).toEqual({ slow: 'cancelled', bad: 'failed', after: 'skipped', afterBad: 'skipped' })
    const slowTask = [...queue.tasks.values()].find((t) => t.tool === 'slow')!
    expect(slowTask.state).toBe('cancelled')
    expect(queue.executions.map((e) => e.tool)).not.toContain('echo')
  })

  it('continue skips only the transitive dependents of a failed step', async () => {
    const { engine } = await setup()
    const { workflowId } = await engine.submit({
      name: 'cont',
      onFailure: 'continue',
      steps: [
        { id: 'bad', tool: 'fail' },
        { id: 'child', tool: 'echo', dependsOn: ['bad'] },
        { id: 'grandchild', tool: 'echo', dependsOn: ['child'] },
        { id: 'ok', tool: 'num', args: { n: 1 } },
        { id: 'okChild', tool: 'echo', args: { v: { $ref: 'steps.ok.output.n' } } }
      ]
    })
    const done = await engine.wait(workflowId, { timeoutMs: 5_000 })
    expect(done.state).toBe('failed')
    const byId = Object.fromEntries(done.steps.map((s) => [s.id, s]))
    expect(byId.bad?.state).toBe('failed')
    expect(byId.child?.state).toBe('skipped')
    expect(byId.child?.reason).toBe('dependency "bad" failed')
    expect(byId.grandchild?.state).toBe('skipped')
    expect(byId.ok?.state).toBe('succeeded')
    expect(byId.okChild?.state).toBe('succeeded')
    const result = await engine.result(workflowId, 'all')
    expect(result.outputs).toEqual({ ok: { n: 1 }, okChild: { v: 1 } })
    expect(result.errors).toEqual({ bad: 'boom' })
  })

  it('a forEach item failure fails the step and stops its other items', async () => {
    const { engine, queue } = await setup()
    queue.on('maybe', async (args, { signal }) => {
      if (args.n === 2) throw new Error('item two is bad')
      await sleepUnlessAborted(60_000, signal)
      return {}
    })
    const { workflowId } = await engine.submit(
      { name: 'items', steps: [{ id: 'each', tool: 'maybe', forEach: [1, 2, 3], args: { n: '${item}' } }] },
      { allowUnknownTools: true }
    )
    const done = await engine.wait(workflowId, { timeoutMs: 5_000 })
    expect(done.state).toBe('failed')
    expect(done.steps[0]?.error).toBe('item 1: item two is bad')
    expect(done.steps[0]?.items).toMatchObject({ total: 3, failed: 1, cancelled: 2 })
    expect([...queue.tasks.values()].filter((t) => t.state === 'cancelled')).toHaveLength(2)
  })

  it('keeps at most maxParallel tasks in flight', async () => {
    const { engine, queue } = await setup()
    let inFlight = 0
    let peak = 0
    queue.on('tick', async () => {
      inFlight++
      peak = Math.max(peak, inFlight)
      await new Promise((resolve) => setTimeout(resolve, 5))
      inFlight--
      return {}
    })
    const { workflowId } = await engine.submit(
      {
        name: 'par',
        maxParallel: 3,
        steps: [{ id: 'each', tool: 'tick', forEach: Array.from({ length: 20 }, (_, i) => i) }]
      },
      { allowUnknownTools: true }
    )
    const done = await engine.wait(workflowId, { timeoutMs: 5_000 })
    expect(done.state).toBe('succeeded')
    expect(peak).toBe(3)
  })

  it('cancel aborts running tasks and skips pending steps', async () => {
    const { engine, queue } = await setup()
    const { workflowId } = await engine.submit({
      name: 'cancel-me',
      steps: [
        { id: 's1', tool: 'slow' },
        { id: 's2', tool: 'slow' },
        { id: 'later', tool: 'echo', dependsOn: ['s1', 's2'] }
      ]
    })
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (queue.running().length === 2) resolve()
        else setTimeout(check, 5)
      }
      check()
    })
    const status = await engine.cancel(workflowId, 'test says stop')
    expect(status.state).toBe('cancelled')
    expect(Object.fromEntries(status.steps.map((s) => [s.id, s.state]))).toEqual({
      s1: 'cancelled',
      s2: 'cancelled',
      later: 'skipped'
    })
    expect([...queue.tasks.values()].every((t) => t.state === 'cancelled')).toBe(true)
    // Cancelling again is a no-op.
    expect((await engine.cancel(workflowId)).state).toBe('cancelled')
  })

  it('fails a workflow that passes its timeoutMs', async () => {
    const { engine } = await setup()
    const { workflowId } = await engine.submit({ name: 'late', timeoutMs: 50, steps: [{ id: 's', tool: 'slow' }] })
    const done = await engine.wait(workflowId, { timeoutMs: 5_000 })
    expect(done.state).toBe('failed')
    expect(done.error).toBe('workflow timed out after 50 ms')
    expect(done.steps[0]?.state).toBe('cancelled')
  })

  it('fails a step whose reference is missing at run time, naming the step and field', async () => {
    const { engine } = await setup()
    const { workflowId } = await engine.submit({
      name: 'runtime-ref',
      steps: [
        { id: 'a', tool: 'echo', args: { x: 1 } },
        { id: 'b', tool: 'echo', args: { y: { $ref: 'steps.a.output.nope' } } }
      ]
    })
    const done = await engine.wait(workflowId, { timeoutMs: 5_000 })
    expect(done.state).toBe('failed')
    expect(done.steps[1]?.error).toBe(
      'step "b": cannot resolve steps.a.output.nope: field "nope" not found in the value'
    )
  })

  it('streams step events with rising progress and a final event', async () => {
    const { engine } = await setup()
    const { workflowId } = await engine.submit({
      name: 'progress',
      steps: [
        { id: 'a', tool: 'num' },
        { id: 'b', tool: 'double', args: { n: '${steps.a.output.n}' } },
        { id: 'c', tool: 'double', forEach: [1, 2, 3], args: { n: '${item}' }, dependsOn: ['b'] }
      ]
    })
    const events: WorkflowStepEvent[] = []
    await engine.wait(workflowId, { onEvent: (event) => events.push(event) })
    const values = events.map((e) => e.progress.progress)
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]!)
    const last = events.at(-1)!
    expect(last.final).toBe(true)
    expect(last.progress).toMatchObject({ progress: 3, total: 3, done: 3 })
    expect(events.some((e) => /c item \d succeeded/.test(e.progress.message))).toBe(true)
    expect(events.some((e) => e.progress.message.includes('running: c'))).toBe(true)
  })

  it('resumes after a restart without re-running succeeded steps', async () => {
    const datastore = new MemoryDatastore()
    const queue = fakeTools(new FakeQueue())
    const first = await setup({ queue, datastore })
    const release = gate()
    queue.on('gated', async () => {
      await release.promise
      return { ok: true }
    })
    const { workflowId } = await first.engine.submit(
      {
        name: 'durable',
        steps: [
          { id: 'a', tool: 'num', args: { n: 2 } },
          { id: 'b', tool: 'gated', args: { n: { $ref: 'steps.a.output.n' } } },
          { id: 'c', tool: 'double', forEach: [1, 2], args: { n: '${item}' }, dependsOn: ['b'] },
          { id: 'd', tool: 'echo', args: { a: '${steps.a.output.n}', c: { $ref: 'steps.c.output' } } }
        ]
      },
      { allowUnknownTools: true }
    )
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (queue.running().some((t) => t.tool === 'gated')) resolve()
        else setTimeout(check, 5)
      }
      check()
    })
    // The node stops: the engine detaches; the queue (durable) keeps its task.
    await first.engine.stop()
    engines.splice(engines.indexOf(first.engine), 1)

    const second = await setup({ queue, datastore })
    const resumed = await second.engine.status(workflowId)
    expect(resumed.state).toBe('running')
    expect(resumed.steps.find((s) => s.id === 'a')?.state).toBe('succeeded')
    release.open()
    const done = await second.engine.wait(workflowId, { timeoutMs: 5_000 })
    expect(done.state).toBe('succeeded')
    const counts = queue.executions.reduce<Record<string, number>>((acc, e) => {
      acc[e.tool] = (acc[e.tool] ?? 0) + 1
      return acc
    }, {})
    expect(counts).toEqual({ num: 1, gated: 1, double: 2, echo: 1 })
    expect((await second.engine.result(workflowId)).final).toEqual({ a: 2, c: [{ n: 2 }, { n: 4 }] })
  })

  it('resumes a half-done forEach: finished items are not re-run', async () => {
    const datastore = new MemoryDatastore()
    const queue = fakeTools(new FakeQueue())
    const first = await setup({ queue, datastore })
    const release = gate()
    queue.on('item', async (args) => {
      if (args.n === 3) await release.promise
      return { n: args.n }
    })
    const { workflowId } = await first.engine.submit(
      { name: 'half', steps: [{ id: 'each', tool: 'item', forEach: [1, 2, 3], args: { n: '${item}' } }] },
      { allowUnknownTools: true }
    )
    await new Promise<void>((resolve) => {
      const check = (): void => {
        const done = [...queue.tasks.values()].filter((t) => t.tool === 'item' && t.state === 'succeeded').length
        if (done === 2) resolve()
        else setTimeout(check, 5)
      }
      check()
    })
    await first.engine.stop()
    engines.splice(engines.indexOf(first.engine), 1)
    const second = await setup({ queue, datastore })
    release.open()
    const done = await second.engine.wait(workflowId, { timeoutMs: 5_000 })
    expect(done.state).toBe('succeeded')
    expect(queue.executions.filter((e) => e.tool === 'item')).toHaveLength(3)
    expect((await second.engine.result(workflowId)).final).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
  })

  it('lists by state and tag with pagination, and reads finished workflows back from the journal', async () => {
    const datastore = new MemoryDatastore()
    const { engine, queue } = await setup({ datastore })
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      const { workflowId } = await engine.submit({
        name: `w${i}`,
        tags: i % 2 === 0 ? ['even'] : [],
        steps: [{ id: 'a', tool: 'num' }]
      })
      ids.push(workflowId)
      await engine.wait(workflowId)
    }
    const page1 = engine.list({ state: 'succeeded' }, { limit: 2 })
    expect(page1.total).toBe(5)
    expect(page1.workflows).toHaveLength(2)
    const page2 = engine.list({ state: 'succeeded' }, { limit: 2, cursor: page1.nextCursor })
    const page3 = engine.list({ state: 'succeeded' }, { limit: 2, cursor: page2.nextCursor })
    expect(page3.nextCursor).toBeUndefined()
    const seen = [...page1.workflows, ...page2.workflows, ...page3.workflows].map((w) => w.workflowId)
    expect(new Set(seen)).toEqual(new Set(ids))
    expect(engine.list({ tag: 'even' }).total).toBe(3)
    expect(engine.list({ state: 'running' }).total).toBe(0)

    await engine.stop()
    engines.splice(engines.indexOf(engine), 1)
    const reopened = await setup({ datastore, queue })
    expect(reopened.engine.list().total).toBe(5)
    const status = await reopened.engine.status(ids[0]!)
    expect(status.state).toBe('succeeded')
    expect(status.steps[0]?.peers).toHaveLength(1)
    expect((await reopened.engine.result(ids[0]!)).final).toEqual({ n: 1 })
    await expect(reopened.engine.status('wf-0000000000000000')).rejects.toMatchObject({ name: 'UnknownWorkflowError' })
  })

  it('prunes finished workflows beyond the retention limits', async () => {
    const { engine } = await setup({ limits: { maxFinished: 2 } })
    for (let i = 0; i < 4; i++) {
      const { workflowId } = await engine.submit({ name: `w${i}`, steps: [{ id: 'a', tool: 'num' }] })
      await engine.wait(workflowId)
    }
    await engine.prune()
    expect(engine.list().total).toBe(2)
    expect(await engine.prune(Date.now() + 8 * 24 * 3_600_000)).toBe(2)
    expect(engine.list().total).toBe(0)
  })

  it('places steps on the peer, locally, or spread as the document says', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const queue = fakeTools(new FakeQueue())
    const { engine } = await setup({ queue })
    const { workflowId } = await engine.submit({
      name: 'placed',
      steps: [
        { id: 'p', tool: 'num', placement: { peer } },
        { id: 'l', tool: 'num', placement: 'local' },
        { id: 'g1', tool: 'num', placement: { spread: 'mid' } },
        { id: 'g2', tool: 'num', placement: { spread: 'mid', tags: ['gpu'] } }
      ]
    })
    const done = await engine.wait(workflowId, { timeoutMs: 5_000 })
    expect(done.steps.find((s) => s.id === 'p')?.peers).toEqual([peer])
    expect(done.steps.find((s) => s.id === 'l')?.peers).toEqual(['local'])
    const placements = [...queue.tasks.values()].map((t) => t.placement)
    expect(placements).toContainEqual({ spread: `wf:${workflowId}:group:mid` })
    expect(placements).toContainEqual({ spread: `wf:${workflowId}:group:mid`, tags: ['gpu'] })
    const keys = [...queue.tasks.values()].map((t) => t.idempotencyKey)
    expect(keys).toContain(`wf:${workflowId}:p`)
  })

  it('refuses to submit without a task queue', async () => {
    const engine = new WorkflowEngine({ datastore: new MemoryDatastore(), owner: 'x' })
    await engine.start()
    engines.push(engine)
    await expect(engine.submit({ name: 'x', steps: [{ id: 'a', tool: 'num' }] })).rejects.toMatchObject({
      name: 'NoTaskQueueError'
    })
  })
})
