/**
 * task_submit checks the arguments against the tool's known input schema
 * (this node's tool, or a provider's descriptor) at submission: a bad
 * argument is an `isError` tool result naming the field (SEP-1303), not a
 * task that later ends `dead` on its worker. An unknown tool is accepted.
 */
import type { Tool as McpTool } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { CatalogPeer } from '../../../src/mesh/index.js'
import { QueueOwner } from '../../../src/queue/owner/api.js'
import type { TaskQueueService } from '../../../src/queue/service.js'
import { createTaskSubmitTool } from '../../../src/queue/tools/task-submit.js'
import { defineTool } from '../../../src/tools/define.js'
import { ToolRegistry } from '../../../src/tools/registry.js'
import { testContext } from '../../helpers/index.js'
import { catalogPeer, ownerParts } from '../fixtures.js'

const remoteSchema = {
  type: 'object',
  properties: { page: { type: 'integer', minimum: 1 } },
  required: ['page'],
  additionalProperties: false
} as McpTool['inputSchema']

function described(peer: CatalogPeer, name: string, inputSchema: McpTool['inputSchema']): CatalogPeer {
  const tool = peer.tools.get(name)!
  tool.descriptor = { name, inputSchema }
  return peer
}

async function setup(peers: CatalogPeer[] = []) {
  const parts = await ownerParts()
  const registry = new ToolRegistry()
  registry.register(
    defineTool({
      name: 'sha256',
      description: 'hashes data',
      inputSchema: z.object({ data: z.string() }),
      handler: async () => 'ok'
    })
  )
  const owner = new QueueOwner({
    store: parts.store,
    scheduler: parts.scheduler,
    leases: parts.leases,
    abortPull: async () => {},
    registry,
    peers: () => peers,
    self: 'self'
  })
  const queue = {
    submit: async (submission: Parameters<QueueOwner['submit']>[0]) => owner.submit(submission),
    waitFor: async (id: string) => owner.waitFor(id),
    require: (id: string) => owner.require(id)
  } as unknown as TaskQueueService
  const tool = createTaskSubmitTool(queue)
  return { owner, parts, submit: async (args: Record<string, unknown>) => tool.invoke(args, testContext()) }
}

describe('task_submit’s argument check', () => {
  it('refuses arguments that fail a local tool’s input schema, naming the field, and queues nothing', async () => {
    const { submit, parts } = await setup()
    const result = await submit({ tool: 'sha256', args: { data: 42 } })
    expect(result.isError).toBe(true)
    expect(result.structuredContent).toBeUndefined()
    expect(JSON.stringify(result.content)).toContain('data')
    expect(JSON.stringify(result.content)).toContain('sha256')
    expect(parts.store.tasks.size).toBe(0)
    const ok = await submit({ tool: 'sha256', args: { data: 'hello' } })
    expect(ok.isError).not.toBe(true)
    expect(parts.store.tasks.size).toBe(1)
  })

  it('refuses arguments that fail a provider descriptor’s input schema', async () => {
    const { submit, parts } = await setup([described(catalogPeer('p1', { tools: ['render'] }), 'render', remoteSchema)])
    const result = await submit({ tool: 'render', args: { page: 0 } })
    expect(result.isError).toBe(true)
    expect(result.structuredContent).toBeUndefined()
    expect(JSON.stringify(result.content)).toContain('page')
    expect((await submit({ tool: 'render', args: {} })).isError).toBe(true)
    expect((await submit({ tool: 'render', args: { page: 3 } })).isError).not.toBe(true)
    expect(parts.store.tasks.size).toBe(1)
  })

  it('accepts arguments one of several providers’ schemas takes, and checks the placed peer’s only', async () => {
    const loose = { type: 'object', properties: { page: { type: 'string' } } } as McpTool['inputSchema']
    const peers = [
      described(catalogPeer('strict', { tools: ['render'] }), 'render', remoteSchema),
      described(catalogPeer('loose', { tools: ['render'] }), 'render', loose)
    ]
    const { submit } = await setup(peers)
    expect((await submit({ tool: 'render', args: { page: 'three' } })).isError).not.toBe(true)
    const placed = await submit({ tool: 'render', args: { page: 'three' }, placement: { peer: 'strict' } })
    expect(placed.isError).toBe(true)
  })

  it('checks a task placed on this node against its own tool', async () => {
    const { submit } = await setup()
    const placed = await submit({ tool: 'sha256', args: { data: 1 }, placement: { peer: 'self' } })
    expect(placed.isError).toBe(true)
    const fine = await submit({ tool: 'sha256', args: { data: 'x' }, placement: { peer: 'self' } })
    expect(fine.isError).not.toBe(true)
  })

  it('accepts any arguments for a tool known by no schema yet (the task waits for a provider)', async () => {
    const { submit } = await setup([catalogPeer('p1', { tools: ['render'] })])
    const unknown = await submit({ tool: 'nobody-offers-this', args: { anything: [1, 2] } })
    expect(unknown.isError).not.toBe(true)
    const undescribed = await submit({ tool: 'render', args: { page: 'x' } })
    expect(undescribed.isError).not.toBe(true)
  })
})
