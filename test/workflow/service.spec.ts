import { MemoryDatastore } from 'datastore-core'
import { afterEach, describe, expect, it } from 'vitest'
import type { Task } from '../../src/queue/types.js'
import { type WorkflowComponents, type WorkflowService, workflows } from '../../src/workflow/index.js'
import { FakeQueue, gate } from './fake-queue.js'

const services: WorkflowService[] = []

afterEach(async () => {
  for (const service of services.splice(0)) await service.stop()
})

function components(queue: FakeQueue, datastore = new MemoryDatastore()): WorkflowComponents {
  return {
    datastore,
    queue,
    owner: 'owner-peer',
    describeTool: (name) => (['num', 'gated'].includes(name) ? { inputSchema: { type: 'object' } } : undefined)
  }
}

function create(queue: FakeQueue, datastore?: MemoryDatastore): WorkflowService {
  const service = workflows({ limits: { defaultMaxParallel: 4 } })(components(queue, datastore))
  services.push(service)
  return service
}

describe('workflow service wiring', () => {
  it('lists the six workflow tools and registers none itself', () => {
    const service = create(new FakeQueue())
    expect(service.name).toBe('workflow')
    expect(
      service
        .tools()
        .map((tool) => tool.name)
        .sort()
    ).toEqual([
      'workflow_cancel',
      'workflow_dependencies',
      'workflow_list',
      'workflow_result',
      'workflow_status',
      'workflow_submit'
    ])
    expect(service.engine.limits.defaultMaxParallel).toBe(4)
  })

  it('start and stop are idempotent, and health follows them', async () => {
    const queue = new FakeQueue().on('num', async (args) => ({ n: Number(args.n ?? 1) }))
    const service = create(queue)
    expect(await service.health()).toEqual({ ok: false, detail: 'stopped' })
    await service.start()
    await service.start()
    expect(await service.health()).toEqual({ ok: true, detail: '0 running, 0 journaled' })
    const { workflowId } = await service.engine.submit({ name: 'one', steps: [{ id: 'a', tool: 'num' }] })
    expect((await service.engine.wait(workflowId, { timeoutMs: 5_000 })).state).toBe('succeeded')
    expect(queue.executions).toHaveLength(1)
    expect(service.status()).toMatchObject({ active: 0, known: 1 })
    await service.stop()
    await service.stop()
    expect(await service.health()).toEqual({ ok: false, detail: 'stopped' })
    expect(service.status()).toEqual({ active: 0, known: 0 })
  })

  it('resumes a journaled workflow on start, on the queue it is given', async () => {
    const datastore = new MemoryDatastore()
    const release = gate()
    const queue = new FakeQueue()
      .on('num', async (args) => ({ n: Number(args.n ?? 1) }))
      .on('gated', async () => {
        await release.promise
        return { ok: true }
      })
    const first = create(queue, datastore)
    await first.start()
    const gatedRunning = new Promise<void>((resolve) => {
      const onTask = (event: CustomEvent<Task>): void => {
        if (event.detail.tool !== 'gated' || event.detail.state !== 'running') return
        queue.removeEventListener('task', onTask)
        resolve()
      }
      queue.addEventListener('task', onTask)
    })
    const { workflowId } = await first.engine.submit({
      name: 'durable',
      steps: [
        { id: 'a', tool: 'num', args: { n: 2 } },
        { id: 'b', tool: 'gated', dependsOn: ['a'] }
      ]
    })
    await gatedRunning
    await first.stop()

    const second = create(queue, datastore)
    await second.start()
    expect(second.status()).toMatchObject({ active: 1, known: 1 })
    const resumed = await second.engine.status(workflowId)
    expect(resumed.state).toBe('running')
    expect(resumed.steps.find((step) => step.id === 'a')?.state).toBe('succeeded')
    release.open()
    const done = await second.engine.wait(workflowId, { timeoutMs: 5_000 })
    expect(done.state).toBe('succeeded')
    expect(queue.executions.map((execution) => execution.tool)).toEqual(['num', 'gated'])
  })
})
