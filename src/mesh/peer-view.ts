import { type CallToolResult, type Tool as McpTool, ProtocolError } from '@modelcontextprotocol/server'
import { toMcpTool } from '../mcp/local-view.js'
import type { ToolView, ViewCallContext } from '../mcp/view.js'
import type { ToolRegistry } from '../tools/registry.js'
import type { JsonObject, ToolContext } from '../tools/types.js'
import { callDeadline } from '../util/deadline.js'
import type { InboundPath, RefusalKind, TrustGate } from '../trust/index.js'
import { meshLogger } from '../util/logger.js'
import { afterSettled, attempt } from '../util/settle.js'
import { WindowRate } from '../util/window-rate.js'
import {
  DEFAULT_MAX_HELD_CALL_BYTES,
  DEFAULT_MAX_HELD_CALL_BYTES_PER_PEER,
  DEFAULT_MAX_INBOUND_CALLS_TOTAL,
  MAX_IDLE_PEER_ENTRIES,
  ERROR_CODE_BUSY,
  ERROR_CODE_DENIED,
  ERROR_CODE_RATE_LIMITED
} from './constants.js'
import { PartialFrameBudget } from './frame-budget.js'

const log = meshLogger('mcp+p2p:auth')

export interface InboundLimits {
  maxConcurrencyPerPeer: number
  maxQueuePerPeer: number
  maxRequestsPerSecondPerPeer: number
  requestTimeoutMs: number
  /** Calls accepted (running or waiting) over all peers; more are refused as busy. */
  maxCallsTotal?: number
  /** Bytes of arguments and `_meta` of calls held (accepted, not answered) per peer and over all peers. */
  maxHeldBytesPerPeer?: number
  maxHeldBytes?: number
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

/**
 * `_meta` key that marks a call as a task pushed by an owner (the task
 * queue's key, here only an opaque string: the mesh knows nothing of tasks).
 * Denials of such calls are counted under the gate's `task-push` path.
 */
export const PUSHED_TASK_META_KEY = 'mcp-mesh/task'

/** What the authorization view needs from the node. */
export interface PeerViewHost {
  registry: Pick<ToolRegistry, 'list' | 'get'>
  /** The node's one authorization gate: visibility (mayRun), calls (checkRun) and refusal counts. */
  gate: Pick<TrustGate, 'mayRun' | 'checkRun'>
  /**
   * Runs a tool on this node (never routed into the mesh); `controller` is the controller of
   * `ctx.signal`, made for this call alone (the router aborts it rather than chain its own).
   */
  runLocal(name: string, args: JsonObject, ctx: ToolContext, controller?: AbortController): Promise<CallToolResult>
  inboundCall?: InboundCallHook
}

/**
 * A peer's call slots: a counting semaphore with a FIFO of waiters. A call
 * takes a slot at once when one is free (no job object, timer or signal per
 * call, unlike a general job queue); a finished call hands its slot straight
 * to the oldest waiter.
 */
class PeerSlots {
  running = 0
  readonly #waiting: Array<() => void> = []

  /** Calls running or waiting. */
  get size(): number {
    return this.running + this.#waiting.length
  }

  /** Resolves once a slot was handed over (the slot is then already taken). */
  async wait(): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>()
    this.#waiting.push(resolve)
    return promise
  }

  release(): void {
    const next = this.#waiting.shift()
    if (next != null) next()
    else this.running--
  }
}

/**
 * Enforces per-peer inbound limits: a token bucket for the request rate and a
 * bounded queue with a concurrency cap. Shared by every stream of a peer, so
 * opening more streams does not buy more capacity.
 */
export class InboundLimiter {
  readonly limits: InboundLimits
  readonly counters: InboundCounters = { calls: 0, denied: 0, rateLimited: 0, busy: 0, inFlight: 0, queued: 0 }
  readonly #rate: WindowRate
  readonly #slots = new Map<string, PeerSlots>()
  /** Peers' slots with nothing running or waiting, kept for their next call (at most MAX_IDLE_PEER_ENTRIES). */
  #idleSlots = 0
  readonly #maxCallsTotal: number
  /** Bytes of calls held (accepted, not answered), per peer and over all peers. */
  readonly #held: PartialFrameBudget
  readonly #onRefused?: (kind: RefusalKind, peer: string, reason: string, path: InboundPath) => void

  /** `onRefused` hears every busy and rate-limited refusal, with its path (the gate counts them). */
  constructor(
    limits: InboundLimits,
    onRefused?: (kind: RefusalKind, peer: string, reason: string, path: InboundPath) => void
  ) {
    this.limits = limits
    this.#maxCallsTotal = limits.maxCallsTotal ?? DEFAULT_MAX_INBOUND_CALLS_TOTAL
    this.#held = new PartialFrameBudget(
      limits.maxHeldBytesPerPeer ?? DEFAULT_MAX_HELD_CALL_BYTES_PER_PEER,
      limits.maxHeldBytes ?? DEFAULT_MAX_HELD_CALL_BYTES
    )
    this.#onRefused = onRefused
    this.#rate = new WindowRate(limits.maxRequestsPerSecondPerPeer, 1_000)
  }

  /**
   * Runs one request of `peer` (a call, or a prompt, resource or completion
   * request on `path` 'content') under the peer's rate, queue and the
   * node-wide cap. A refusal is a rejection, as from an async function.
   */
  run<T>(peer: string, fn: () => Promise<T>, path: InboundPath = 'call'): Promise<T> {
    let slots: PeerSlots
    try {
      slots = this.#admit(peer, path)
    } catch (err) {
      return Promise.reject(err)
    }
    this.counters.queued++
    // Plain callbacks, not an async function awaiting in try/finally: fewer promises and
    // microtask hops per call; the counters and the slot move exactly as they did.
    if (slots.running >= this.limits.maxConcurrencyPerPeer) {
      return slots.wait().then(() => this.#start(peer, slots, fn))
    }
    slots.running++
    return this.#start(peer, slots, fn)
  }

  /** The rate, node-wide and per-peer checks of one request: its peer's slots, or a throw (counted). */
  #admit(peer: string, path: InboundPath): PeerSlots {
    if (!this.#rate.take(peer)) {
      this.counters.rateLimited++
      const reason = `rate limited: more than ${this.limits.maxRequestsPerSecondPerPeer} requests per second`
      this.#onRefused?.('rate-limited', peer, reason, path)
      throw new ProtocolError(ERROR_CODE_RATE_LIMITED, reason)
    }
    // Node-wide: new peer IDs are free to mint, so per-peer bounds alone bound nothing.
    if (this.counters.inFlight + this.counters.queued >= this.#maxCallsTotal) {
      this.counters.busy++
      const reason = `busy: more than ${this.#maxCallsTotal} requests pending on this node`
      this.#onRefused?.('busy', peer, reason, path)
      throw new ProtocolError(ERROR_CODE_BUSY, reason)
    }
    let slots = this.#slots.get(peer)
    if (slots == null) {
      slots = new PeerSlots()
      this.#slots.set(peer, slots)
    } else if (slots.size === 0) this.#idleSlots--
    if (slots.size >= this.limits.maxConcurrencyPerPeer + this.limits.maxQueuePerPeer) {
      this.counters.busy++
      const reason = `busy: more than ${slots.size} requests pending from this peer`
      this.#onRefused?.('busy', peer, reason, path)
      throw new ProtocolError(ERROR_CODE_BUSY, reason)
    }
    return slots
  }

  /** Runs `fn` in the slot just taken; the slot is handed on once it settles. */
  #start<T>(peer: string, slots: PeerSlots, fn: () => Promise<T>): Promise<T> {
    this.counters.queued--
    this.counters.inFlight++
    return afterSettled(attempt(fn), () => this.#finish(peer, slots))
  }

  #finish(peer: string, slots: PeerSlots): void {
    this.counters.inFlight--
    slots.release()
    if (slots.size !== 0 || this.#slots.get(peer) !== slots) return
    // Kept for the peer's next call (no Map delete and re-insert per call); the idle ones go once
    // there are too many (peer IDs are free to mint).
    if (++this.#idleSlots <= MAX_IDLE_PEER_ENTRIES) return
    for (const [idlePeer, idle] of this.#slots) if (idle.size === 0) this.#slots.delete(idlePeer)
    this.#idleSlots = 0
  }

  /** Peers with slots: those with calls running or waiting, and at most MAX_IDLE_PEER_ENTRIES without. */
  get slotEntries(): number {
    return this.#slots.size
  }

  /**
   * Charges `bytes` (a call's arguments and `_meta`, held until it is
   * answered) to the peer's and the node's budgets; returns the release.
   * Over either budget the call is refused as busy (counted), nothing held:
   * a complete request costs its size for as long as it runs (e.g. `sleep`).
   */
  hold(peer: string, bytes: number, path: InboundPath = 'call'): () => void {
    const over = this.#held.resize(peer, 0, bytes)
    if (over != null) {
      this.counters.busy++
      const reason =
        over === 'peer'
          ? `busy: calls holding more than ${this.#held.perPeer} bytes pending from this peer`
          : `busy: calls holding more than ${this.#held.total} bytes pending on this node`
      this.#onRefused?.('busy', peer, reason, path)
      throw new ProtocolError(ERROR_CODE_BUSY, reason)
    }
    let released = false
    return () => {
      if (released) return
      released = true
      this.#held.resize(peer, bytes, 0)
    }
  }

  forget(peer: string): void {
    if (this.#slots.get(peer)?.size === 0) this.#idleSlots--
    this.#slots.delete(peer)
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

  call(name: string, args: JsonObject, ctx: ViewCallContext): Promise<CallToolResult> {
    let release: () => void
    try {
      release = this.#authorize(name, args, ctx)
    } catch (err) {
      return Promise.reject(err)
    }
    // Plain callbacks rather than async functions awaiting in try/finally (here, in the limiter
    // and around the local run): fewer promises and microtask hops per call, the same order of
    // release (the deadline, then the slot, then the held bytes).
    // Reached only once the gate allowed the call.
    const running = attempt(
      () =>
        this.#host.inboundCall?.({ peer: this.#peer, tool: name, args, ctx }) ??
        this.#limiter.run(this.#peer, () => this.#runLocal(name, args, ctx))
    )
    return afterSettled(running, release)
  }

  /** The gate's decision (a throw when denied, counted) and the call's held bytes: their release. */
  #authorize(name: string, args: JsonObject, ctx: ViewCallContext): () => void {
    // A pushed task is a call like any other for the gate; its denials are counted on its own path.
    const path: InboundPath = ctx.meta?.[PUSHED_TASK_META_KEY] != null ? 'task-push' : 'call'
    const decision = this.#host.gate.checkRun(path, this.#peer, name)
    if (!decision.allowed) {
      this.#limiter.counters.denied++
      log('denied %s from peer %s: %s', name, this.#peer, decision.reason)
      throw new ProtocolError(ERROR_CODE_DENIED, `denied: ${decision.reason}`)
    }
    this.#limiter.counters.calls++
    // Held until answered, on either path (a pushed task too): charged to the byte budgets first.
    return this.#limiter.hold(this.#peer, heldBytes(args, ctx.meta))
  }

  /** The call on this node, under the inbound request timeout. */
  #runLocal(name: string, args: JsonObject, ctx: ViewCallContext): Promise<CallToolResult> {
    // The front's round made `ctx.controller` for this call alone: the deadline aborts it (no controller chained).
    const limit = callDeadline(ctx.signal, this.#limiter.limits.requestTimeoutMs, ctx.controller)
    const running = attempt(() =>
      this.#host.runLocal(
        name,
        args,
        {
          signal: limit.signal,
          reportProgress: ctx.reportProgress,
          caller: { kind: 'peer', peerId: this.#peer },
          // A shared server's input request goes back to the peer (an input_required round).
          requestInput: ctx.requestInput,
          // Its log messages go back to the peer, which relays them to its caller.
          log: ctx.log
        },
        limit.controller
      )
    )
    return afterSettled(running, () => limit.dispose())
  }

  /** Listing is not a request to run anything: asked of the gate without counting. */
  #visible(name: string): boolean {
    return this.#host.gate.mayRun(this.#peer, name).allowed
  }
}

/** What a call holds while it runs: its arguments and `_meta` as JSON (a peer's request is parsed JSON). */
function heldBytes(args: JsonObject, meta: Record<string, unknown> | undefined): number {
  try {
    return JSON.stringify(args).length + (meta == null ? 0 : JSON.stringify(meta).length)
  } catch {
    return 0
  }
}
