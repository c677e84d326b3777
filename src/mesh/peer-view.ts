import { Queue, RateLimiter } from '@libp2p/utils'
import { type CallToolResult, type Tool as McpTool, ProtocolError } from '@modelcontextprotocol/server'
import type { MeshConfig } from '../config/schema.js'
import { toMcpTool } from '../mcp/local-view.js'
import type { ToolView, ViewCallContext } from '../mcp/view.js'
import type { ToolRegistry } from '../tools/registry.js'
import type { JsonObject, ToolContext } from '../tools/types.js'
import { deadline } from '../util/deadline.js'
import { meshLogger } from '../util/logger.js'
import { ERROR_CODE_BUSY, ERROR_CODE_DENIED, ERROR_CODE_RATE_LIMITED } from './constants.js'

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

/**
 * Takes over an inbound call once the peer view has authorized it (the tool
 * is exported and the peer is trusted for it). A promise is the call's result,
 * run outside the per-peer call queue (the task queue uses it for pushed
 * tasks, bounded by its own worker slots); undefined runs the call normally,
 * locally under the inbound limits.
 */
export type InboundCallHook = (call: {
  peer: string
  tool: string
  args: JsonObject
  ctx: ViewCallContext
}) => Promise<CallToolResult> | undefined

/** What the authorization view needs from the node. */
export interface PeerViewHost {
  registry: Pick<ToolRegistry, 'list' | 'get' | 'has'>
  isExported(name: string): boolean
  trust: MeshConfig['trust']
  /** Runs a tool on this node (never routed into the mesh). */
  runLocal(name: string, args: JsonObject, ctx: ToolContext): Promise<CallToolResult>
  inboundCall?: InboundCallHook
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
 * can never bounce a call back into the mesh) under the inbound limits,
 * unless the inbound-call hook takes an authorized call over.
 */
export class PeerToolView implements ToolView {
  readonly #peer: string
  readonly #host: PeerViewHost
  readonly #limiter: InboundLimiter

  constructor(peer: string, host: PeerViewHost, limiter: InboundLimiter) {
    this.#peer = peer
    this.#host = host
    this.#limiter = limiter
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
    const takenOver = this.#host.inboundCall?.({ peer: this.#peer, tool: name, args, ctx })
    if (takenOver != null) return takenOver
    return this.#limiter.run(this.#peer, async () => {
      const limit = deadline(ctx.signal, this.#limiter.limits.requestTimeoutMs)
      try {
        return await this.#host.runLocal(name, args, {
          signal: limit.signal,
          reportProgress: ctx.reportProgress,
          caller: { kind: 'peer', peerId: this.#peer },
          // A shared server's input request goes back to the peer (an input_required round).
          requestInput: ctx.requestInput
        })
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
    const { allowPeers, tools } = this.#host.trust
    if (allowPeers != null && !allowPeers.includes(this.#peer)) return `peer ${this.#peer} is not in trust.allowPeers`
    const perTool = tools[name]
    if (perTool != null && !perTool.includes(this.#peer)) return `peer ${this.#peer} is not allowed to call "${name}"`
    return undefined
  }
}
