import type { CallToolResult } from '@modelcontextprotocol/server'
import { errorResult } from '../tools/define.js'
import { UnknownToolError } from '../tools/errors.js'
import { RUNTIMES, type Runtime, type ToolMeta } from '../tools/meta.js'
import type { ToolRegistry } from '../tools/registry.js'
import type { JsonObject, Tool, ToolContext } from '../tools/types.js'
import { withSpan } from '../tracing/context.js'
import { errorMessage } from '../util/errors.js'
import { DEFAULT_MESH_PATTERNS, DEFAULT_RUNTIME } from './constants.js'
import { NoMeshDispatcherError, ToolTimeoutError } from './errors.js'

export type DetectionSource = 'override' | 'metadata' | 'pattern' | 'default'

export interface Detection {
  runtime: Runtime
  source: DetectionSource
}

export interface MeshCall {
  name: string
  args: JsonObject
  /** Metadata of the local tool of the same name, when there is one. */
  meta?: ToolMeta
}

/**
 * Sends calls into the mesh. The mesh layer implements it; the router only
 * knows this interface, so routing works (and fails clearly) without it.
 */
export interface MeshDispatcher {
  /** Whether some peer currently offers `name`. */
  offers(name: string): boolean
  dispatch(call: MeshCall, ctx: ToolContext): Promise<CallToolResult>
}

export interface RouterMetrics {
  detections: number
  byRuntime: Record<Runtime, number>
  cacheHits: number
  cacheMisses: number
  calls: { local: number; mesh: number; failed: number }
}

/** One routed call, as the router's observer sees it when the call ends. */
export interface RoutedCall {
  name: string
  route: 'local' | 'mesh'
  /** `tool_error`: a result with isError; `error`: an exception (no result). */
  outcome: 'ok' | 'tool_error' | 'error'
  durationMs: number
  /** Neither this node nor the mesh knows the tool. */
  unknown: boolean
}

export interface RuntimeRouterInit {
  /** Told about every call when it ends (the node's metrics). */
  observe?: (call: RoutedCall) => void
  /** Globs (`*` wildcard) of tool names routed to the mesh when the registry does not know them. */
  meshPatterns?: readonly string[]
  /**
   * The mesh's dispatcher while the mesh runs, else undefined (mesh-routed
   * calls then fail with NoMeshDispatcherError). Read on every call.
   */
  dispatcher?: () => MeshDispatcher | undefined
}

export interface RouteOptions {
  /** Per-call runtime override, from the call's `_meta`. */
  override?: Runtime
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')
  return new RegExp(`^${escaped}$`)
}

export function isRuntime(value: unknown): value is Runtime {
  return typeof value === 'string' && (RUNTIMES as readonly string[]).includes(value)
}

/**
 * Decides where a tool runs and runs it there. Detection precedence: a per-call
 * override, then registry metadata, then name patterns, then `local`.
 * Detections without an override are cached per name and invalidated when the
 * registry changes that name.
 */
export class RuntimeRouter {
  readonly #registry: ToolRegistry
  readonly #patterns: RegExp[]
  readonly #cache = new Map<string, Detection>()
  readonly #dispatcher: () => MeshDispatcher | undefined
  readonly #observe?: (call: RoutedCall) => void
  readonly #metrics: RouterMetrics = {
    detections: 0,
    byRuntime: { local: 0, mesh: 0, auto: 0 },
    cacheHits: 0,
    cacheMisses: 0,
    calls: { local: 0, mesh: 0, failed: 0 }
  }

  constructor(registry: ToolRegistry, init: RuntimeRouterInit = {}) {
    this.#registry = registry
    this.#patterns = (init.meshPatterns ?? DEFAULT_MESH_PATTERNS).map(globToRegExp)
    this.#dispatcher = init.dispatcher ?? (() => undefined)
    this.#observe = init.observe
    registry.addEventListener('change', (event) => {
      if (event.detail.type === 'clear') this.#cache.clear()
      else for (const name of event.detail.names) this.#cache.delete(name)
    })
  }

  /** The dispatcher mesh-routed calls would go to now. */
  get dispatcher(): MeshDispatcher | undefined {
    return this.#dispatcher()
  }

  detect(name: string, override?: Runtime): Detection {
    this.#metrics.detections++
    let detection: Detection
    if (override != null) {
      detection = { runtime: override, source: 'override' }
    } else {
      const cached = this.#cache.get(name)
      if (cached != null) {
        this.#metrics.cacheHits++
        detection = cached
      } else {
        this.#metrics.cacheMisses++
        detection = this.#detectUncached(name)
        this.#cache.set(name, detection)
      }
    }
    this.#metrics.byRuntime[detection.runtime]++
    return detection
  }

  /** Where a call would execute now: `auto` resolves to local when the tool is here. */
  resolveTarget(name: string, detection: Detection): 'local' | 'mesh' {
    // A name nobody registered here can only be served by a peer.
    if (detection.source === 'default') return this.#registry.has(name) ? 'local' : 'mesh'
    if (detection.runtime === 'local') return 'local'
    if (detection.runtime === 'mesh') return 'mesh'
    const tool = this.#registry.get(name)
    if (tool != null && !tool.meta.requiresP2P) return 'local'
    return 'mesh'
  }

  /**
   * Routes one call. A mesh-routed call never falls back to local execution
   * and a call is never executed twice by the router itself: retries belong
   * to the dispatcher, which knows whether the remote side ran it.
   */
  async call(name: string, args: JsonObject, ctx: ToolContext, options: RouteOptions = {}): Promise<CallToolResult> {
    const detection = this.detect(name, options.override)
    const target = this.resolveTarget(name, detection)
    const started = performance.now()
    let outcome: RoutedCall['outcome'] = 'error'
    let unknown = false
    try {
      const result = await withSpan(
        `route ${name}`,
        { attributes: { 'gen_ai.tool.name': name, 'mcp_mesh.route': target } },
        () => this.#route(name, args, ctx, detection, target),
        (value) => (value.isError === true ? 'tool error' : undefined)
      )
      outcome = result.isError === true ? 'tool_error' : 'ok'
      return result
    } catch (err) {
      unknown = err instanceof UnknownToolError
      throw err
    } finally {
      this.#observe?.({ name, route: target, outcome, durationMs: performance.now() - started, unknown })
    }
  }

  async #route(
    name: string,
    args: JsonObject,
    ctx: ToolContext,
    detection: Detection,
    target: 'local' | 'mesh'
  ): Promise<CallToolResult> {
    const tool = this.#registry.get(name)
    if (target === 'local') {
      if (tool == null) throw new UnknownToolError(name)
      this.#metrics.calls.local++
      const result = await runWithTimeout(tool, args, ctx)
      if (result.isError === true) this.#metrics.calls.failed++
      return result
    }
    const dispatcher = this.#dispatcher()
    if (dispatcher == null) {
      if (tool == null && detection.source === 'default') throw new UnknownToolError(name)
      this.#metrics.calls.failed++
      return errorResult(new NoMeshDispatcherError(name).message)
    }
    if (tool == null && !dispatcher.offers(name) && detection.source === 'default') throw new UnknownToolError(name)
    this.#metrics.calls.mesh++
    const result = await dispatcher.dispatch({ name, args, meta: tool?.meta }, ctx)
    if (result.isError === true) this.#metrics.calls.failed++
    return result
  }

  metrics(): RouterMetrics {
    const m = this.#metrics
    return { ...m, byRuntime: { ...m.byRuntime }, calls: { ...m.calls } }
  }

  #detectUncached(name: string): Detection {
    const tool = this.#registry.get(name)
    if (tool != null) return { runtime: tool.meta.runtime, source: 'metadata' }
    if (this.#patterns.some((pattern) => pattern.test(name))) return { runtime: 'mesh', source: 'pattern' }
    // Unknown locally: the mesh may offer it, so the default is resolved per call.
    return { runtime: DEFAULT_RUNTIME, source: 'default' }
  }
}

/**
 * Runs a local tool under its `timeoutMs`. The handler's signal fires on
 * timeout or caller cancellation; the call resolves even if a handler ignores
 * its signal, so a stuck tool cannot hang the caller. One controller, timer
 * and parent listener per call, released when the call settles
 * (AbortSignal.any and AbortSignal.timeout cost measurably more per call
 * under load; so did a listener on the handler's signal besides the parent's).
 */
async function runWithTimeout(tool: Tool, args: JsonObject, ctx: ToolContext): Promise<CallToolResult> {
  const parent = ctx.signal
  const controller = new AbortController()
  const { signal } = controller
  let reject!: (reason: unknown) => void
  const aborted = new Promise<never>((_, rejectAborted) => {
    reject = rejectAborted
  })
  // The race learns of the abort before the handler's own listeners run.
  const abort = (reason: unknown): void => {
    if (signal.aborted) return
    reject(reason)
    controller.abort(reason)
  }
  const onParentAbort = (): void => abort(parent.reason)
  const timer = setTimeout(() => abort(new ToolTimeoutError(tool.name, tool.meta.timeoutMs)), tool.meta.timeoutMs)
  if (parent.aborted) onParentAbort()
  else parent.addEventListener('abort', onParentAbort, { once: true })
  try {
    return await Promise.race([tool.invoke(args, { ...ctx, signal }), aborted])
  } catch (err) {
    if (err instanceof ToolTimeoutError) return errorResult(err.message)
    if (signal.aborted) return errorResult(`${tool.name} was cancelled: ${errorMessage(signal.reason)}`)
    throw err
  } finally {
    clearTimeout(timer)
    parent.removeEventListener('abort', onParentAbort)
  }
}
