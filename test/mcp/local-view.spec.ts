import type { Tool as McpTool } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { LocalToolView, type MeshToolSource, toMcpTool } from '../../src/mcp/local-view.js'
import { TOOL_META_KEY } from '../../src/mcp/view.js'
import { RuntimeRouter } from '../../src/router/router.js'
import { ToolRegistry } from '../../src/tools/registry.js'
import { testContext, testTool } from '../helpers/tools.js'

function remoteTool(name: string): McpTool {
  return { name, description: `remote ${name}`, inputSchema: { type: 'object' } }
}

class StubMeshSource implements MeshToolSource {
  lastLocalNames?: ReadonlySet<string>
  constructor(readonly tools: McpTool[]) {}
  list(localNames: ReadonlySet<string>): McpTool[] {
    this.lastLocalNames = localNames
    return this.tools.filter((t) => !localNames.has(t.name))
  }
  describe(name: string): McpTool | undefined {
    return this.tools.find((t) => t.name === name)
  }
}

describe('LocalToolView', () => {
  it('lists the registry as MCP tools and reflects registry changes', () => {
    const registry = new ToolRegistry()
    const view = new LocalToolView(registry, new RuntimeRouter(registry))
    registry.register(testTool('a', { title: 'A' }))
    expect(view.list().map((t) => t.name)).toEqual(['a'])
    registry.register(testTool('b'))
    expect(view.list().map((t) => t.name)).toEqual(['a', 'b'])
    registry.unregister('a')
    expect(view.list().map((t) => t.name)).toEqual(['b'])
  })

  it('merges the mesh’s tools after the local ones, local names winning', () => {
    const registry = new ToolRegistry()
    registry.register(testTool('shared'))
    const mesh = new StubMeshSource([remoteTool('shared'), remoteTool('remote_only')])
    let source: MeshToolSource | undefined = mesh
    const view = new LocalToolView(registry, new RuntimeRouter(registry), { mesh: () => source })
    expect(view.list().map((t) => [t.name, t.description])).toEqual([
      ['shared', 'test tool shared'],
      ['remote_only', 'remote remote_only']
    ])
    expect([...mesh.lastLocalNames!]).toEqual(['shared'])
    expect(view.describe('shared')?.description).toBe('test tool shared')
    expect(view.describe('remote_only')?.description).toBe('remote remote_only')
    source = undefined
    expect(view.describe('remote_only')).toBeUndefined()
  })

  it('routes calls through the router', async () => {
    const registry = new ToolRegistry()
    registry.register(testTool('t'))
    const router = new RuntimeRouter(registry)
    const view = new LocalToolView(registry, router)
    const ctx = testContext()
    const result = await view.call('t', {}, { ...ctx, override: undefined })
    expect(result.structuredContent).toEqual({ ran: 't' })
    expect(router.metrics().calls.local).toBe(1)
  })

  it('toMcpTool carries title, output schema, annotations and metadata only when present', () => {
    const bare = toMcpTool(testTool('bare'))
    expect(bare).not.toHaveProperty('title')
    expect(bare).not.toHaveProperty('outputSchema')
    expect(bare).not.toHaveProperty('annotations')
    expect(bare._meta?.[TOOL_META_KEY]).toMatchObject({ runtime: 'local' })
  })
})
