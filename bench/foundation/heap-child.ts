/**
 * Heap of a tool registry, measured in a child started with --expose-gc:
 * heapUsed after full GCs, before and after building a registry of
 * BENCH_TOOLS tools. Three kinds of registry:
 *  - `shared`: tools made with defineTool over shared zod schemas, which is
 *    the registry's own cost (Tool objects, metadata, the index);
 *  - `ownSchemas`: each tool with its own zod input and output schemas, as
 *    separate modules would define them (zod's objects dominate);
 *  - `proxied`: tools as imported from an MCP server (JSON schemas, no zod).
 * `listed` adds what tools/list materialises (JSON schemas and MCP listings)
 * to `ownSchemas`. Prints one JSON line with bytes for each.
 */
import { z } from 'zod'
import { LocalToolView } from '../../src/mcp/local-view.js'
import { RuntimeRouter } from '../../src/router/router.js'
import { declaredMetaFields, defineTool, parseToolMeta } from '../../src/tools/define.js'
import { ToolRegistry } from '../../src/tools/registry.js'
import type { JsonObject, Tool } from '../../src/tools/types.js'
import { makeTools } from './in-process.js'

const gc = (globalThis as { gc?: () => void }).gc
if (gc == null) throw new Error('run with --expose-gc')

function settledHeap(): number {
  for (let i = 0; i < 4; i++) gc!()
  return process.memoryUsage().heapUsed
}

const count = Number(process.env.BENCH_TOOLS ?? 1000)
const retained: unknown[] = []

function measure(build: () => unknown): number {
  const before = settledHeap()
  retained.push(build())
  return settledHeap() - before
}

const meta = {
  runtime: 'auto' as const,
  category: 'bench',
  priority: 5,
  timeoutMs: 5_000,
  retry: { policy: 'none' as const }
}

function sharedSchemaTools(): Tool[] {
  const inputSchema = z.object({ message: z.string(), count: z.number().int().optional() })
  const outputSchema = z.object({ message: z.string() })
  return Array.from({ length: count }, (_, i) =>
    defineTool({
      name: `shared_${i}`,
      title: `Tool ${i}`,
      description: `Benchmark tool ${i}: returns its input`,
      inputSchema,
      outputSchema,
      meta,
      handler: async ({ message }) => ({ message })
    })
  )
}

/** What ServerProxy builds for each tool of a proxied MCP server. */
function proxiedTools(): Tool[] {
  return Array.from({ length: count }, (_, i): Tool => {
    const name = `server.tool_${i}`
    const metaInput = { category: 'server:bench', export: false }
    return {
      name,
      title: `Tool ${i}`,
      description: `Benchmark tool ${i}: returns its input (via MCP server "bench")`,
      inputSchema: {
        type: 'object',
        properties: { message: { type: 'string' }, count: { type: 'integer' } },
        required: ['message']
      } as JsonObject,
      outputSchema: { type: 'object', properties: { message: { type: 'string' } } } as JsonObject,
      meta: parseToolMeta(name, metaInput),
      declaredMeta: declaredMetaFields(metaInput),
      source: { kind: 'server', server: 'bench', remoteName: `tool_${i}` },
      invoke: async () => ({ content: [] })
    }
  })
}

function registryOf(tools: Tool[]): ToolRegistry {
  const registry = new ToolRegistry()
  registry.registerAll(tools)
  return registry
}

// Warm up the code paths (zod, defineTool, the registry) so one-time allocations are not counted.
registryOf(makeTools(50, 'warm'))
registryOf(sharedSchemaTools().slice(0, 1))

const shared = measure(() => registryOf(sharedSchemaTools()))
const proxied = measure(() => registryOf(proxiedTools()))
let ownRegistry: ToolRegistry | undefined
const ownSchemas = measure(() => {
  ownRegistry = registryOf(makeTools(count))
  return ownRegistry
})
const listedExtra = measure(() => new LocalToolView(ownRegistry!, new RuntimeRouter(ownRegistry!)).list())
process.stdout.write(
  `${JSON.stringify({ tools: count, shared, ownSchemas, proxied, listed: ownSchemas + listedExtra })}\n`
)
