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
  /**
   * `controller`: the controller of `ctx.signal`, made for this call alone
   * (RouteOptions.controller); the call's deadline then aborts it rather
   * than a controller chained to it.
   */
  dispatch(call: MeshCall, ctx: ToolContext, controller?: AbortController): Promise<CallToolResult>
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
  /**
   * The controller of `ctx.signal` when the caller made it for this call
   * alone (the front's input rounds): a local tool's timeout aborts it rather
   * than a controller chained to it (one controller per call instead of two),
   * and so does a mesh-routed call's deadline (MeshDispatcher.dispatch).
   */
  controller?: AbortController
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
  call(name: string, args: JsonObject, ctx: ToolContext, options: RouteOptions = {}): Promise<CallToolResult> {
    const detection = this.detect(name, options.override)
    const target = this.resolveTarget(name, detection)
    const started = performance.now()
    // Plain callbacks rather than an async function: one promise and microtask hop less per call.
    return withSpan(
      `route ${name}`,
      { attributes: { 'gen_ai.tool.name': name, 'mcp_mesh.route': target } },
      () => this.#route(name, args, ctx, detection, target, options.controller),
      isToolError
    ).then(
      (result) => {
        // A mesh-routed call's failures are counted as it returns (#routeToMesh).
        if (target === 'local' && result.isError === true) this.#metrics.calls.failed++
        this.#observe?.({
          name,
          route: target,
          outcome: result.isError === true ? 'tool_error' : 'ok',
          durationMs: performance.now() - started,
          unknown: false
        })
        return result
      },
      (err: unknown) => {
        const unknown = err instanceof UnknownToolError
        this.#observe?.({ name, route: target, outcome: 'error', durationMs: performance.now() - started, unknown })
        throw err
      }
    )
  }

  #route(
    name: string,
    args: JsonObject,
    ctx: ToolContext,
    detection: Detection,
    target: 'local' | 'mesh',
    controller: AbortController | undefined
  ): Promise<CallToolResult> {
    if (target !== 'local') return this.#routeToMesh(name, args, ctx, detection, controller)
    const tool = this.#registry.get(name)
    if (tool == null) throw new UnknownToolError(name)
    this.#metrics.calls.local++
    // Its failure is counted where the call ends (`call`): one promise and hop less per call.
    return runWithTimeout(tool, args, ctx, controller)
  }

  async #routeToMesh(
    name: string,
    args: JsonObject,
    ctx: ToolContext,
    detection: Detection,
    controller: AbortController | undefined
  ): Promise<CallToolResult> {
    const tool = this.#registry.get(name)
    const dispatcher = this.#dispatcher()
    if (dispatcher == null) {
      if (tool == null && detection.source === 'default') throw new UnknownToolError(name)
      this.#metrics.calls.failed++
      return errorResult(new NoMeshDispatcherError(name).message)
    }
    if (tool == null && !dispatcher.offers(name) && detection.source === 'default') throw new UnknownToolError(name)
    this.#metrics.calls.mesh++
    const result = await dispatcher.dispatch({ name, args, meta: tool?.meta }, ctx, controller)
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

function isToolError(result: CallToolResult): string | undefined {
  return result.isError === true ? 'tool error' : undefined
}

/**
 * Runs a local tool under its `timeoutMs`. The handler's signal fires on
 * timeout or caller cancellation; the call resolves even if a handler ignores
 * its signal, so a stuck tool cannot hang the caller. One timer and one abort
 * listener per call, released when the call settles; a controller of its own
 * chained to the caller's signal only when the caller does not hand over the
 * signal's controller (`owned`, RouteOptions.controller). AbortSignal.any and
 * AbortSignal.timeout cost measurably more per call under load; so did a
 * listener on the handler's signal besides the parent's.
 */
function runWithTimeout(
  tool: Tool,
  args: JsonObject,
  ctx: ToolContext,
  owned: AbortController | undefined
): Promise<CallToolResult> {
  const parent = ctx.signal
  // A handed-over controller is the parent's own: abort it directly (its signal is the handler's).
  const controller = owned != null && owned.signal === parent ? owned : new AbortController()
  const chained = controller !== owned
  const { signal } = controller
  const { promise, resolve, reject } = Promise.withResolvers<CallToolResult>()
  let settled = false
  const fail = (err: unknown): void => {
    if (err instanceof ToolTimeoutError) resolve(errorResult(err.message))
    else if (signal.aborted) resolve(errorResult(`${tool.name} was cancelled: ${errorMessage(signal.reason)}`))
    else reject(err)
  }
  const release = (): void => {
    settled = true
    clearTimeout(timer)
    if (chained) parent.removeEventListener('abort', onParentAbort)
    else signal.removeEventListener('abort', onAbort)
  }
  // The call learns of the abort before the handler's own listeners run.
  const onAbort = (): void => {
    if (settled) return
    release()
    fail(signal.reason)
  }
  const abort = (reason: unknown): void => {
    if (signal.aborted) return
    // Owned: the listener above settles the call. Chained: settled first, so what the
    // handler does in its own listeners is ignored; the reason is the signal's once aborted.
    if (chained) release()
    controller.abort(reason)
    if (chained) fail(reason)
  }
  const onParentAbort = (): void => abort(parent.reason)
  const timer = setTimeout(() => abort(new ToolTimeoutError(tool.name, tool.meta.timeoutMs)), tool.meta.timeoutMs)
  if (chained) {
    if (parent.aborted) onParentAbort()
    else parent.addEventListener('abort', onParentAbort, { once: true })
  } else if (signal.aborted) onAbort()
  else signal.addEventListener('abort', onAbort, { once: true })
  let invoked: Promise<CallToolResult>
  try {
    invoked = tool.invoke(args, chained ? { ...ctx, signal } : ctx)
  } catch (err) {
    invoked = Promise.reject(err)
  }
  invoked.then(
    (result) => {
      if (settled) return
      release()
      resolve(result)
    },
    (err: unknown) => {
      if (settled) return
      release()
      fail(err)
    }
  )
  return promise
}
