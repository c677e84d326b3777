// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} in strings is the workflow template syntax under test
import { Client, InMemoryTransport } from '@modelcontextprotocol/client'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { MemoryDatastore } from 'datastore-core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { McpFront } from '../../src/mcp/front.js'
import { LocalToolView } from '../../src/mcp/local-view.js'
import { RuntimeRouter } from '../../src/router/router.js'
import { ToolRegistry } from '../../src/tools/registry.js'
import { WorkflowEngine } from '../../src/workflow/index.js'
import { workflowTools } from '../../src/workflow/tools/index.js'
import { resultText } from '../helpers/tools.js'
import { FakeQueue, sleepUnlessAborted } from './fake-queue.js'

let engine: WorkflowEngine
let queue: FakeQueue
let registry: ToolRegistry
let front: McpFront
let client: Client

beforeEach(async () => {
  queue = new FakeQueue()
    .on('num', async (args) => ({ n: Number(args.n ?? 1) }))
    .on('slow', async (_args, { signal }) => {
      await sleepUnlessAborted(60_000, signal)
      return {}
    })
  engine = new WorkflowEngine({
    queue,
    datastore: new MemoryDatastore(),
    owner: 'owner',
    describeTool: (name) =>
      ['num', 'slow'].includes(name)
        ? { outputSchema: { type: 'object', properties: { n: { type: 'number' } } } }
        : undefined
  })
  await engine.start()
  registry = new ToolRegistry()
  registry.registerAll(workflowTools(engine))
  front = new McpFront({ name: 'test', version: '1.0.0' })
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  await front.connect(serverSide, new LocalToolView(registry, new RuntimeRouter(registry)), { kind: 'local' })
  client = new Client({ name: 'workflow-tools-test', version: '1.0.0' })
  await client.connect(clientSide)
})

afterEach(async () => {
  await client.close()
  await front.close()
  await engine.stop()
})

async function call(
  name: string,
  args: Record<string, unknown>,
  onprogress?: (p: { progress: number; total?: number; message?: string }) => void
): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, { onprogress })) as CallToolResult
}

const DIAMOND = {
  name: 'diamond',
  tags: ['t1'],
  steps: [
    { id: 'a', tool: 'num', args: { n: 1 } },
    { id: 'b', tool: 'num', args: { n: { $ref: 'steps.a.output.n' } } },
    { id: 'c', tool: 'num', args: { n: 3 }, dependsOn: ['a'] },
    { id: 'd', tool: 'num', args: { n: '${steps.b.output.n}${steps.c.output.n}' } }
  ]
}

describe('workflow MCP tools', () => {
  it('registers six tools that are 100% compliant in registry.validate()', () => {
    const report = registry.validate()
    expect(report.tools.map((t) => t.name).sort()).toEqual([
      'workflow_cancel',
      'workflow_dependencies',
      'workflow_list',
      'workflow_result',
      'workflow_status',
      'workflow_submit'
    ])
    expect(report.tools.filter((t) => !t.compliant)).toEqual([])
    expect(report.compliance).toBe(100)
  })

  it('submit with wait streams progress to the progressToken and returns the final output', async () => {
    const progress: Array<{ progress: number; total?: number; message?: string }> = []
    const result = await call('workflow_submit', { document: DIAMOND, wait: true }, (p) => progress.push(p))
    expect(result.isError).not.toBe(true)
    const output = result.structuredContent as { state: string; final: unknown; steps: Array<{ state: string }> }
    expect(output.state).toBe('succeeded')
    expect(output.final).toEqual({ n: 13 })
    expect(progress.length).toBeGreaterThan(2)
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.progress).toBeGreaterThan(progress[i - 1]!.progress)
    expect(progress.at(-1)).toMatchObject({ progress: 4, total: 4 })
    expect(progress.at(-1)?.message).toMatch(/^d succeeded on peer-\w; 4\/4 steps done$/)
  })

  it('submit without wait returns at once; status, list, result and dependencies follow', async () => {
    const submitted = (await call('workflow_submit', { document: JSON.stringify(DIAMOND) })).structuredContent as {
      workflowId: string
      state: string
    }
    expect(submitted.workflowId).toMatch(/^wf-[0-9a-f]{16}$/)
    const result = (await call('workflow_result', { workflowId: submitted.workflowId, wait: true, which: 'all' }))
      .structuredContent as {
      state: string
      outputs: Record<string, unknown>
      final: unknown
    }
    expect(result.state).toBe('succeeded')
    expect(Object.keys(result.outputs)).toEqual(['a', 'b', 'c', 'd'])
    const status = (await call('workflow_status', { workflowId: submitted.workflowId })).structuredContent as {
      steps: Array<{ id: string; peers: string[]; durationMs: number; taskIds: string[] }>
    }
    expect(status.steps.every((s) => s.peers.length === 1 && s.taskIds.length === 1 && s.durationMs >= 0)).toBe(true)
    const list = (await call('workflow_list', { tag: 't1', state: ['succeeded', 'failed'] })).structuredContent as {
      total: number
    }
    expect(list.total).toBe(1)
    const graph = (await call('workflow_dependencies', { workflowId: submitted.workflowId, format: 'mermaid' }))
      .structuredContent as {
      edges: unknown[]
      text: string
    }
    expect(graph.edges).toHaveLength(4)
    expect(graph.text).toContain(':::succeeded')
    const dot = (await call('workflow_dependencies', { document: DIAMOND, format: 'dot' })).structuredContent as {
      text: string
    }
    expect(dot.text).toContain('"a" -> "b";')
  })

  it('rejects a bad document as a tool error listing every problem, before running anything', async () => {
    const result = await call('workflow_submit', {
      document: {
        name: 'bad',
        steps: [
          { id: 'a', tool: 'num', dependsOn: ['b'] },
          { id: 'b', tool: 'num', args: { n: { $ref: 'steps.a.output.n' } } },
          { id: 'c', tool: 'num', args: { n: { $ref: 'steps.zz.output' } } },
          { id: 'd', tool: 'mystery' }
        ]
      }
    })
    expect(result.isError).toBe(true)
    const text = resultText(result)
    expect(text).toContain('workflow rejected, 3 problems')
    expect(text).toContain('step "a": dependency cycle a -> b -> a')
    expect(text).toContain('step "c": args.n references steps.zz.output, but no step "zz" exists')
    expect(text).toContain('step "d": unknown tool "mystery"')
    // No structuredContent on the error (it would not match the outputSchema): the problems are JSON text.
    expect(result.structuredContent).toBeUndefined()
    const json = result.content.find((block) => block.type === 'text' && block.text.startsWith('{'))
    expect((JSON.parse((json as { text: string }).text) as { problems: unknown[] }).problems).toHaveLength(3)
    expect(queue.tasks.size).toBe(0)
  })

  it('cancel reports cancelled and skipped steps; a finished workflow is left alone', async () => {
    const { workflowId } = (
      await call('workflow_submit', {
        document: {
          name: 'c',
          steps: [
            { id: 's', tool: 'slow' },
            { id: 'after', tool: 'num', dependsOn: ['s'] }
          ]
        }
      })
    ).structuredContent as { workflowId: string }
    await new Promise<void>((resolve) => {
      const check = (): void => (queue.running().length === 1 ? resolve() : void setTimeout(check, 5))
      check()
    })
    const cancelled = (await call('workflow_cancel', { workflowId, reason: 'enough' })).structuredContent
    expect(cancelled).toEqual({
      workflowId,
      state: 'cancelled',
      cancelled: ['s'],
      skipped: ['after'],
      alreadyFinished: false
    })
    const again = (await call('workflow_cancel', { workflowId })).structuredContent
    expect(again).toMatchObject({ state: 'cancelled', alreadyFinished: true, cancelled: [] })
  })

  it('answers a tool error for a malformed id and for an unknown one (SEP-1303)', async () => {
    const malformed = await call('workflow_status', { workflowId: 'nope' })
    expect(malformed.isError).toBe(true)
    expect(resultText(malformed)).toContain('workflowId')
    const unknown = await call('workflow_status', { workflowId: 'wf-0000000000000000' })
    expect(unknown.isError).toBe(true)
    expect(resultText(unknown)).toBe('no workflow "wf-0000000000000000" on this node')
  })
})
