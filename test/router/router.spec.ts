import type { CallToolResult } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { DEFAULT_MESH_PATTERNS } from '../../src/router/constants.js'
import { type MeshCall, type MeshDispatcher, RuntimeRouter } from '../../src/router/router.js'
import type { ToolMetaInput } from '../../src/tools/meta.js'
import { ToolRegistry } from '../../src/tools/registry.js'
import type { ToolContext } from '../../src/tools/types.js'
import { rejectionOf } from '../helpers/errors.js'
import { resultText, testContext, testTool } from '../helpers/tools.js'

/** A dispatcher that records what it is sent and answers with a marker. */
class StubDispatcher implements MeshDispatcher {
  readonly calls: Array<{ call: MeshCall; ctx: ToolContext }> = []
  constructor(readonly offered: ReadonlySet<string> = new Set()) {}

  offers(name: string): boolean {
    return this.offered.has(name)
  }

  async dispatch(call: MeshCall, ctx: ToolContext): Promise<CallToolResult> {
    this.calls.push({ call, ctx })
    return { content: [{ type: 'text', text: `mesh:${call.name}` }] }
  }
}

/** A registry with a tool whose handler counts its local runs. */
function setup(meta: ToolMetaInput = {}): { registry: ToolRegistry; localRuns: () => number } {
  const registry = new ToolRegistry()
  let localRuns = 0
  registry.register(
    testTool('tool', {
      meta,
      handler: async () => {
        localRuns++
        return 'local'
      }
    })
  )
  return { registry, localRuns: () => localRuns }
}

describe('RuntimeRouter detection', () => {
  it('uses a per-call override before anything else', () => {
    const { registry } = setup({ runtime: 'local' })
    const router = new RuntimeRouter(registry)
    expect(router.detect('tool', 'mesh')).toEqual({ runtime: 'mesh', source: 'override' })
    expect(router.detect('p2p_x', 'local')).toEqual({ runtime: 'local', source: 'override' })
  })

  it.each(['local', 'mesh', 'auto'] as const)('uses registry metadata (%s) for a registered tool', (runtime) => {
    const { registry } = setup({ runtime })
    expect(new RuntimeRouter(registry).detect('tool')).toEqual({ runtime, source: 'metadata' })
  })

  it('metadata beats a matching name pattern', () => {
    const registry = new ToolRegistry()
    registry.register(testTool('p2p_local', { meta: { runtime: 'local' } }))
    expect(new RuntimeRouter(registry).detect('p2p_local')).toEqual({ runtime: 'local', source: 'metadata' })
  })

  it.each([
    ['p2p_*', 'p2p_send'],
    ['*workflow*', 'run_workflow_now'],
    ['*workflow*', 'workflow'],
    ['*taskqueue*', 'my_taskqueue_status'],
    ['task_*', 'task_submit'],
    ['queue_*', 'queue_length'],
    ['worker_*', 'worker_ping']
  ])('routes unknown names matching %s (e.g. %s) to the mesh', (pattern, name) => {
    expect(DEFAULT_MESH_PATTERNS).toContain(pattern)
    expect(new RuntimeRouter(new ToolRegistry()).detect(name)).toEqual({ runtime: 'mesh', source: 'pattern' })
  })

  it.each(['echo', 'p2p', 'xp2p_send', 'task', 'taskq', 'my_queue_x', 'worker'])(
    'falls back to the default for %s',
    (name) => {
      expect(new RuntimeRouter(new ToolRegistry()).detect(name)).toEqual({ runtime: 'local', source: 'default' })
    }
  )

  it('takes custom patterns, treating glob characters other than * literally', () => {
    const router = new RuntimeRouter(new ToolRegistry(), { meshPatterns: ['remote.*', 'x?y'] })
    expect(router.detect('remote.echo').source).toBe('pattern')
    expect(router.detect('remoteXecho').source).toBe('default')
    expect(router.detect('x?y').source).toBe('pattern')
    expect(router.detect('xzy').source).toBe('default')
    expect(router.detect('p2p_send').source).toBe('default')
  })
})

describe('RuntimeRouter detection cache', () => {
  it('counts misses then hits, and overrides bypass the cache', () => {
    const { registry } = setup()
    const router = new RuntimeRouter(registry)
    router.detect('tool')
    router.detect('tool')
    router.detect('tool')
    router.detect('tool', 'mesh')
    const metrics = router.metrics()
    expect(metrics).toMatchObject({ detections: 4, cacheMisses: 1, cacheHits: 2 })
    expect(metrics.byRuntime).toEqual({ local: 3, mesh: 1, auto: 0 })
  })

  it('invalidates a name when it is registered, unregistered or cleared', () => {
    const registry = new ToolRegistry()
    const router = new RuntimeRouter(registry)
    expect(router.detect('late').source).toBe('default')
    registry.register(testTool('late', { meta: { runtime: 'mesh' } }))
    expect(router.detect('late')).toEqual({ runtime: 'mesh', source: 'metadata' })
    registry.unregister('late')
    expect(router.detect('late').source).toBe('default')
    registry.register(testTool('late', { meta: { runtime: 'auto' } }))
    expect(router.detect('late').runtime).toBe('auto')
    registry.clear()
    expect(router.detect('late').source).toBe('default')
    expect(router.metrics()).toMatchObject({ cacheMisses: 5, cacheHits: 0 })
  })

  it('keeps cached entries of names a change does not touch', () => {
    const registry = new ToolRegistry()
    const router = new RuntimeRouter(registry)
    router.detect('a')
    registry.register(testTool('b'))
    router.detect('a')
    expect(router.metrics()).toMatchObject({ cacheMisses: 1, cacheHits: 1 })
  })
})

describe('RuntimeRouter.resolveTarget (auto)', () => {
  it('runs an auto tool locally when it is registered here', () => {
    const { registry } = setup({ runtime: 'auto' })
    const router = new RuntimeRouter(registry)
    expect(router.resolveTarget('tool', router.detect('tool'))).toBe('local')
  })

  it('sends an auto tool that requires P2P to the mesh', () => {
    const { registry } = setup({ runtime: 'auto', requiresP2P: true })
    const router = new RuntimeRouter(registry)
    expect(router.resolveTarget('tool', router.detect('tool'))).toBe('mesh')
  })

  it('sends an auto override for an unknown name to the mesh', () => {
    const router = new RuntimeRouter(new ToolRegistry())
    expect(router.resolveTarget('elsewhere', router.detect('elsewhere', 'auto'))).toBe('mesh')
  })

  it('resolves a default detection by whether the tool is here', () => {
    const router = new RuntimeRouter(new ToolRegistry())
    expect(router.resolveTarget('nowhere', router.detect('nowhere'))).toBe('mesh')
    expect(router.resolveTarget('x', { runtime: 'local', source: 'default' })).toBe('mesh')
  })
})

describe('RuntimeRouter.call', () => {
  it('runs a local tool and counts it', async () => {
    const { registry, localRuns } = setup({ runtime: 'local' })
    const router = new RuntimeRouter(registry)
    const result = await router.call('tool', {}, testContext())
    expect(resultText(result)).toBe('local')
    expect(localRuns()).toBe(1)
    expect(router.metrics().calls).toEqual({ local: 1, mesh: 0, failed: 0 })
  })

  it('fails a mesh-routed call clearly without a dispatcher and never runs it locally', async () => {
    const { registry, localRuns } = setup({ runtime: 'mesh' })
    const router = new RuntimeRouter(registry)
    const result = await router.call('tool', {}, testContext())
    expect(result.isError).toBe(true)
    expect(resultText(result)).toContain('no mesh dispatcher')
    expect(localRuns()).toBe(0)
    // Same for a local tool forced to the mesh, and for a pattern-routed name.
    const forced = await router.call('tool', {}, testContext(), { override: 'mesh' })
    expect(resultText(forced)).toContain('no mesh dispatcher')
    const patterned = await router.call('p2p_thing', {}, testContext())
    expect(resultText(patterned)).toContain('no mesh dispatcher')
    expect(localRuns()).toBe(0)
    expect(router.metrics().calls).toEqual({ local: 0, mesh: 0, failed: 3 })
  })

  it('throws UnknownToolError for a name nobody has', async () => {
    let meshDispatcher: MeshDispatcher | undefined
    const router = new RuntimeRouter(new ToolRegistry(), { dispatcher: () => meshDispatcher })
    expect((await rejectionOf(router.call('nope', {}, testContext()))).name).toBe('UnknownToolError')
    meshDispatcher = new StubDispatcher()
    expect((await rejectionOf(router.call('nope', {}, testContext()))).name).toBe('UnknownToolError')
    expect((await rejectionOf(router.call('nope', {}, testContext(), { override: 'local' }))).name).toBe(
      'UnknownToolError'
    )
  })

  it('hands mesh calls to the dispatcher with the args, the local meta and the context', async () => {
    const { registry, localRuns } = setup({ runtime: 'mesh', category: 'remote' })
    const dispatcher = new StubDispatcher(new Set(['offered_elsewhere']))
    const router = new RuntimeRouter(registry, { dispatcher: () => dispatcher })
    expect(router.dispatcher).toBe(dispatcher)
    const ctx = testContext()
    const result = await router.call('tool', { value: 'v' }, ctx)
    expect(resultText(result)).toBe('mesh:tool')
    expect(dispatcher.calls[0]!.call).toMatchObject({
      name: 'tool',
      args: { value: 'v' },
      meta: { category: 'remote' }
    })
    expect(dispatcher.calls[0]!.ctx.signal).toBe(ctx.signal)
    // A name only a peer offers, and a pattern-routed name, go to the mesh without local meta.
    await router.call('offered_elsewhere', {}, testContext())
    await router.call('worker_ping', {}, testContext())
    expect(dispatcher.calls.map((c) => [c.call.name, c.call.meta])).toEqual([
      ['tool', expect.any(Object)],
      ['offered_elsewhere', undefined],
      ['worker_ping', undefined]
    ])
    expect(localRuns()).toBe(0)
    expect(router.metrics().calls).toEqual({ local: 0, mesh: 3, failed: 0 })
  })

  it('keeps an auto tool local even with a dispatcher, and counts failed results', async () => {
    const registry = new ToolRegistry()
    registry.register(
      testTool('auto_fail', { meta: { runtime: 'auto' }, handler: async () => Promise.reject(new Error('x')) })
    )
    const dispatcher = new StubDispatcher()
    const router = new RuntimeRouter(registry, { dispatcher: () => dispatcher })
    const result = await router.call('auto_fail', {}, testContext())
    expect(result.isError).toBe(true)
    expect(dispatcher.calls).toEqual([])
    expect(router.metrics().calls).toEqual({ local: 1, mesh: 0, failed: 1 })
  })

  it('enforces the tool timeout even when the handler ignores its signal', async () => {
    const registry = new ToolRegistry()
    let sawAbort = false
    registry.register(
      testTool('stuck', {
        meta: { timeoutMs: 30 },
        handler: async (_args, ctx) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true
          })
          return new Promise<never>(() => {})
        }
      })
    )
    const router = new RuntimeRouter(registry)
    const result = await router.call('stuck', {}, testContext())
    expect(result.isError).toBe(true)
    expect(resultText(result)).toContain('timed out after 30 ms')
    expect(sawAbort).toBe(true)
    expect(router.metrics().calls.failed).toBe(1)
  })

  it('resolves a cancelled call even when the handler ignores its signal', async () => {
    const registry = new ToolRegistry()
    let started: () => void = () => {}
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    registry.register(
      testTool('stuck', {
        handler: async () => {
          started()
          return new Promise<never>(() => {})
        }
      })
    )
    const router = new RuntimeRouter(registry)
    const ctx = testContext()
    const call = router.call('stuck', {}, ctx)
    await running
    ctx.controller.abort(new Error('user gave up'))
    const result = await call
    expect(result.isError).toBe(true)
    expect(resultText(result)).toContain('user gave up')
  })

  it('times out on the handed-over controller itself (RouteOptions.controller), even when the handler ignores it', async () => {
    const registry = new ToolRegistry()
    let seen: AbortSignal | undefined
    registry.register(
      testTool('stuck', {
        meta: { timeoutMs: 30 },
        handler: async (_args, ctx) => {
          seen = ctx.signal
          return new Promise<never>(() => {})
        }
      })
    )
    const router = new RuntimeRouter(registry)
    const ctx = testContext()
    const result = await router.call('stuck', {}, ctx, { controller: ctx.controller })
    expect(resultText(result)).toContain('timed out after 30 ms')
    // No controller chained to it: the handler saw the caller's own signal, aborted by the timeout.
    expect(seen).toBe(ctx.signal)
    expect(ctx.signal.aborted).toBe(true)
    expect((ctx.signal.reason as Error).name).toBe('ToolTimeoutError')
    expect(router.metrics().calls.failed).toBe(1)
  })

  it('resolves a call cancelled through the handed-over controller, the handler ignoring it', async () => {
    const registry = new ToolRegistry()
    const { promise: running, resolve: started } = Promise.withResolvers<void>()
    registry.register(
      testTool('stuck', {
        handler: async () => {
          started()
          return new Promise<never>(() => {})
        }
      })
    )
    const router = new RuntimeRouter(registry)
    const ctx = testContext()
    const call = router.call('stuck', {}, ctx, { controller: ctx.controller })
    await running
    ctx.controller.abort(new Error('user gave up'))
    const result = await call
    expect(result.isError).toBe(true)
    expect(resultText(result)).toBe('stuck was cancelled: user gave up')
  })

  it("chains a controller of its own when the handed-over one is not the signal's", async () => {
    const registry = new ToolRegistry()
    let seen: AbortSignal | undefined
    registry.register(
      testTool('quick', {
        handler: async (_args, ctx) => {
          seen = ctx.signal
          return 'ok'
        }
      })
    )
    const router = new RuntimeRouter(registry)
    const ctx = testContext()
    const other = new AbortController()
    expect(resultText(await router.call('quick', {}, ctx, { controller: other }))).toBe('ok')
    expect(seen).not.toBe(ctx.signal)
    expect(seen).not.toBe(other.signal)
  })

  it('propagates invalid arguments as InvalidToolArgumentsError', async () => {
    const { registry } = setup()
    const router = new RuntimeRouter(registry)
    expect((await rejectionOf(router.call('tool', { value: 3 }, testContext()))).name).toBe('InvalidToolArgumentsError')
  })
})
