import { z } from 'zod'
import { RuntimeRouter } from '../../src/router/router.js'
import { defineTool } from '../../src/tools/define.js'
import { ToolRegistry } from '../../src/tools/registry.js'
import type { Tool } from '../../src/tools/types.js'
import { envInt, type Summary, summarize } from './stats.js'

/** Tools as a module author writes them: each with its own zod schemas and full metadata. */
export function makeTools(count: number, prefix = 'tool'): Tool[] {
  const tools: Tool[] = []
  for (let i = 0; i < count; i++) tools.push(defineBenchTool(`${prefix}_${i}`))
  return tools
}

export function defineBenchTool(name: string): Tool {
  return defineTool({
    name,
    title: `Tool ${name}`,
    description: `Benchmark tool ${name}: returns its input`,
    inputSchema: z.object({ message: z.string(), count: z.number().int().optional() }),
    outputSchema: z.object({ message: z.string() }),
    meta: {
      runtime: 'auto',
      category: `cat_${name.length % 8}`,
      priority: 5,
      timeoutMs: 5_000,
      retry: { policy: 'none', maxAttempts: 1 },
      tags: ['bench']
    },
    handler: async ({ message }) => ({ message })
  })
}

export interface InProcessResults {
  tools: number
  /** ns per cached `detect()`, over batches of ops. */
  detectCachedNs: Summary
  /** ns per uncached `detect()` of a registered name (cache invalidated each time). */
  detectUncachedNs: Summary
  /** ms to register() `tools` pre-defined tools into a fresh registry. */
  registerMs: Summary
  /** ms to registerAll() the same. */
  registerAllMs: Summary
  /** ms to defineTool() (schemas prebuilt) and register() `tools` tools. */
  defineAndRegisterMs: Summary
}

export function runInProcess(): InProcessResults {
  const count = envInt('BENCH_TOOLS', 1000)
  const rounds = envInt('BENCH_ROUNDS', 31)
  const batch = 1000
  const batches = envInt('BENCH_DETECT_BATCHES', 2000)

  // --- router detection (cached) ---
  const registry = new ToolRegistry()
  const tools = makeTools(count)
  registry.registerAll(tools)
  const router = new RuntimeRouter(registry)
  const names = tools.map((t) => t.name)
  for (let i = 0; i < 3; i++) for (const name of names) router.detect(name)
  let sink = 0
  const cached: number[] = []
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) sink += router.detect(names[(b * batch + i) % count]!).runtime.length
    cached.push(Number(process.hrtime.bigint() - t0) / batch)
  }

  // --- uncached detection: invalidate by re-registering the name (outside the timed region) ---
  const uncached: number[] = []
  for (let r = 0; r < Math.min(batches, 200); r++) {
    const name = names[r % count]!
    const tool = registry.get(name)!
    registry.unregister(name)
    registry.register(tool)
    const t0 = process.hrtime.bigint()
    sink += router.detect(name).runtime.length
    uncached.push(Number(process.hrtime.bigint() - t0))
  }

  // --- registering pre-defined tools ---
  const register: number[] = []
  const registerAll: number[] = []
  for (let r = 0; r < rounds; r++) {
    const fresh = new ToolRegistry()
    const t0 = performance.now()
    for (const tool of tools) fresh.register(tool)
    register.push(performance.now() - t0)
    const freshAll = new ToolRegistry()
    const t1 = performance.now()
    freshAll.registerAll(tools)
    registerAll.push(performance.now() - t1)
  }

  // --- defineTool + register (zod schemas built outside the timed region) ---
  const inputSchema = z.object({ message: z.string(), count: z.number().int().optional() })
  const outputSchema = z.object({ message: z.string() })
  const defineAndRegister: number[] = []
  for (let r = 0; r < rounds; r++) {
    const fresh = new ToolRegistry()
    const t0 = performance.now()
    for (let i = 0; i < count; i++) {
      fresh.register(
        defineTool({
          name: `t${r}_${i}`,
          title: 'Bench',
          description: 'Benchmark tool: returns its input',
          inputSchema,
          outputSchema,
          meta: { runtime: 'auto', category: 'bench', priority: 5, timeoutMs: 5_000, retry: { policy: 'none' } },
          handler: async ({ message }) => ({ message })
        })
      )
    }
    defineAndRegister.push(performance.now() - t0)
  }
  if (sink === -1) console.error('unreachable')

  return {
    tools: count,
    detectCachedNs: summarize(cached),
    detectUncachedNs: summarize(uncached),
    registerMs: summarize(register),
    registerAllMs: summarize(registerAll),
    defineAndRegisterMs: summarize(defineAndRegister)
  }
}
