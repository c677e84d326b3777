import {
  type CallToolResult,
  type Tool as McpTool,
  ProtocolError,
  ProtocolErrorCode
} from '@modelcontextprotocol/server'
import { z } from 'zod'
import { Queue, RateLimiter } from '@libp2p/utils'
import type { MeshConfig } from '../config/schema.js'
import { toMcpTool } from '../mcp/local-view.js'
import type { ToolView, ViewCallContext } from '../mcp/view.js'
import type { RuntimeRouter } from '../router/router.js'
import type { ToolRegistry } from '../tools/registry.js'
import type { JsonObject } from '../tools/types.js'
import { deadline } from '../util/deadline.js'
import { meshLogger } from '../util/logger.js'
import { ERROR_CODE_BUSY, ERROR_CODE_DENIED, ERROR_CODE_RATE_LIMITED, TASK_META_KEY } from './constants.js'

const log = meshLogger('mcp+p2p:auth')

export interface InboundLimits {
  maxConcurrencyPerPeer: number
  maxQueuePerPeer: number
  maxRequestsPerSecondPerPeer: number
  requestTimeoutMs: number
}

export interface InboundCounters {
  calls: number
  denied: number
  rateLimited: number
  busy: number
  inFlight: number
  queued: number
}

export interface InboundTask {
  id: string
  token: string
  timeoutMs: number
  leaseMs: number
}

const inboundTaskSchema = z.object({
  id: z.string().min(1).max(128),
  token: z.string().min(1).max(128),
  timeoutMs: z.number().int().positive(),
  leaseMs: z.number().int().positive()
})

/** Runs a pushed task on this node as a worker (the queue layer provides it). */
export type InboundTaskExecutor = (
  peer: string,
  tool: string,
  args: JsonObject,
  task: InboundTask,
  ctx: ViewCallContext
) => Promise<CallToolResult>

/** What the authorization view needs from the node. */
export interface PeerViewHost {
  registry: ToolRegistry
  router: RuntimeRouter
  config: Pick<MeshConfig, 'trust'>
  isExported(name: string): boolean
}

/**
 * Enforces per-peer inbound limits: a token bucket for the request rate and a
 * bounded queue with a concurrency cap. Shared by every stream of a peer, so
 * opening more streams does not buy more capacity.
 */
export class InboundLimiter {
  readonly limits: InboundLimits
  readonly counters: InboundCounters = { calls: 0, denied: 0, rateLimited: 0, busy: 0, inFlight: 0, queued: 0 }
  readonly #rate: RateLimiter
  readonly #queues = new Map<string, Queue<CallToolResult>>()

  constructor(limits: InboundLimits) {
    this.limits = limits
    this.#rate = new RateLimiter({ points: limits.maxRequestsPerSecondPerPeer, duration: 1 })
  }

  async run(peer: string, fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
    try {
      this.#rate.consume(peer)
    } catch {
      this.counters.rateLimited++
      throw new ProtocolError(
        ERROR_CODE_RATE_LIMITED,
        `rate limited: more than ${this.limits.maxRequestsPerSecondPerPeer} requests per second`
      )
    }
    let queue = this.#queues.get(peer)
    if (queue == null) {
      queue = new Queue<CallToolResult>({ concurrency: this.limits.maxConcurrencyPerPeer })
      this.#queues.set(peer, queue)
    }
    if (queue.size >= this.limits.maxConcurrencyPerPeer + this.limits.maxQueuePerPeer) {
      this.counters.busy++
      throw new ProtocolError(ERROR_CODE_BUSY, `busy: more than ${queue.size} requests pending from this peer`)
    }
    this.counters.queued++
    const current = queue
    return current.add(async () => {
      this.counters.queued--
      this.counters.inFlight++
      try {
        return await fn()
      } finally {
        this.counters.inFlight--
        if (current.size === 0 && this.#queues.get(peer) === current) this.#queues.delete(peer)
      }
    })
  }

  forget(peer: string): void {
    this.#queues.delete(peer)
  }
}

/**
 * What one remote peer sees of this node: only exported tools, filtered by
 * the trust allowlists. Calls run here (runtime forced to local, so a peer
 * can never bounce a call back into the mesh) under the inbound limits.
 */
export class PeerToolView implements ToolView {
  readonly #peer: string
  readonly #host: PeerViewHost
  readonly #limiter: InboundLimiter
  readonly #tasks?: () => InboundTaskExecutor | undefined

  constructor(
    peer: string,
    host: PeerViewHost,
    limiter: InboundLimiter,
    tasks?: () => InboundTaskExecutor | undefined
  ) {
    this.#peer = peer
    this.#host = host
    this.#limiter = limiter
    this.#tasks = tasks
  }

  list(): McpTool[] {
    return this.#host.registry
      .list()
      .filter((tool) => this.#visible(tool.name))
      .map(toMcpTool)
  }

  describe(name: string): McpTool | undefined {
    if (!this.#visible(name)) return undefined
    const tool = this.#host.registry.get(name)
    return tool == null ? undefined : toMcpTool(tool)
  }

  async call(name: string, args: JsonObject, ctx: ViewCallContext): Promise<CallToolResult> {
    const denial = this.#denial(name)
    if (denial != null) {
      this.#limiter.counters.denied++
      log('denied %s from peer %s: %s', name, this.#peer, denial)
      throw new ProtocolError(ERROR_CODE_DENIED, `denied: ${denial}`)
    }
    this.#limiter.counters.calls++
    const taskMeta = ctx.meta?.[TASK_META_KEY]
    const executor = this.#tasks?.()
    if (taskMeta != null && executor != null) {
      const task = inboundTaskSchema.safeParse(taskMeta)
      if (!task.success) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `invalid _meta["${TASK_META_KEY}"]`)
      // Tasks are bounded by the worker's maxConcurrency, not the per-peer call queue.
      return executor(this.#peer, name, args, task.data, ctx)
    }
    return this.#limiter.run(this.#peer, async () => {
      const limit = deadline(ctx.signal, this.#limiter.limits.requestTimeoutMs)
      try {
        return await this.#host.router.call(
          name,
          args,
          { signal: limit.signal, reportProgress: ctx.reportProgress, caller: { kind: 'peer', peerId: this.#peer } },
          { override: 'local' }
        )
      } finally {
        limit.dispose()
      }
    })
  }

  #visible(name: string): boolean {
    return this.#denial(name) == null
  }

  /** Why this peer may not call `name`, or undefined when it may. */
  #denial(name: string): string | undefined {
    if (!this.#host.registry.has(name) || !this.#host.isExported(name)) {
      return `tool "${name}" is not exported to peers`
    }
    const { allowPeers, tools } = this.#host.config.trust
    if (allowPeers != null && !allowPeers.includes(this.#peer)) return `peer ${this.#peer} is not in trust.allowPeers`
    const perTool = tools[name]
    if (perTool != null && !perTool.includes(this.#peer)) return `peer ${this.#peer} is not allowed to call "${name}"`
    return undefined
  }
}
