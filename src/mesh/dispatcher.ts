import { randomUUID } from 'node:crypto'
import {
  type CallToolResult,
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  SERVER_INFO_META_KEY
} from '@modelcontextprotocol/server'
import type { MeshCall, MeshDispatcher } from '../router/router.js'
import { CALL_RELAY_META_KEY } from '../tools/call-relay.js'
import { errorResult } from '../tools/define.js'
import { callerInput } from '../tools/input-scope.js'
import { type RetryPolicy, retryDelayMs } from '../tools/meta.js'
import type { JsonObject, ToolContext } from '../tools/types.js'
import { withSpan } from '../tracing/context.js'
import { callDeadline, type Deadline, deadline } from '../util/deadline.js'
import { KeyedCounter } from '../util/counter.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { parsePeerId } from '../util/peer-id.js'
import type { TrustGate } from '../trust/index.js'
import type { Catalog } from './catalog.js'
import { type ProviderPolicy, providerPolicy } from './catalog/provider-policy.js'
import { DHT_LOOKUP_TIMEOUT_MS } from './constants.js'
import { type CallToolParams, callPeerTool } from './fast-client-call.js'
import {
  MeshCallTimeoutError,
  NoProviderError,
  OutboundDeniedError,
  PeerDeniedError,
  PeerUnreachableError,
  peerRefusal,
  RemoteToolError
} from './errors.js'
import type { PeerPool } from './peer-pool.js'
import { type Candidate, rankCandidates } from './selector.js'
import type { MeshSurface, SurfaceEntry } from './surface.js'

const log = meshLogger('dispatch')

/** A call without required tags (no array per call). */
const NO_TAGS: readonly string[] = []

/** `_meta` keys on a mesh call's result: where it ran and how many attempts it took. */
export const RESULT_PEER_META_KEY = 'mcp-mesh/peer'
export const RESULT_ATTEMPTS_META_KEY = 'mcp-mesh/attempts'

export interface DispatchCounters {
  calls: number
  failovers: number
  retries: number
  noProvider: number
  timeouts: number
}

type Outcome =
  | { kind: 'result'; result: CallToolResult }
  /** The peer certainly did not run the call: try another provider. */
  | { kind: 'not-executed'; error: Error }
  /** The call may have run (the stream died after the request was sent). */
  | { kind: 'maybe-executed'; error: Error }

/**
 * Sends mesh-routed calls to the best peer. Failures where the peer cannot
 * have run the call (dial failure, denial, busy) fail over to the next
 * provider at once. A failure after the request was sent is retried only if
 * the tool's retry policy allows it, or on another provider if the tool is
 * idempotent (MCP `idempotentHint`); the result says how many attempts it
 * took: a call is never executed twice silently. Tool errors are returned
 * as they are, unless the policy has `retryOnToolError`. Timeout, retry
 * policy and idempotency are those of the provider each attempt goes to
 * (its own signed record and listing), never another provider's.
 */
export class PeerDispatcher implements MeshDispatcher {
  readonly #catalog: Catalog
  readonly #surface: MeshSurface
  readonly #pool: PeerPool
  readonly #gate: Pick<TrustGate, 'maySendTo' | 'checkSend'>
  /** Calls this node has in flight per peer (its advert's load lags behind). */
  readonly #outstanding = new KeyedCounter()
  readonly counters: DispatchCounters = { calls: 0, failovers: 0, retries: 0, noProvider: 0, timeouts: 0 }

  /** `gate` holds trust.sendTo: peers it does not list are never called (and each skip is counted). */
  constructor(
    catalog: Catalog,
    surface: MeshSurface,
    pool: PeerPool,
    gate: Pick<TrustGate, 'maySendTo' | 'checkSend'>
  ) {
    this.#catalog = catalog
    this.#surface = surface
    this.#pool = pool
    this.#gate = gate
  }

  offers(name: string): boolean {
    return this.#surface.resolve(name) != null
  }

  /** Calls `tool` on one specific peer (mesh_call); no failover. Throws InvalidPeerIdError for a bad peer ID. */
  async callPeer(
    peer: string,
    tool: string,
    args: JsonObject,
    ctx: ToolContext,
    timeoutMs: number
  ): Promise<CallToolResult> {
    parsePeerId(peer)
    if (!this.#gate.checkSend('call', peer)) throw new OutboundDeniedError(peer)
    const limit = deadline(ctx.signal, timeoutMs)
    try {
      const outcome = await this.#attempt(peer, tool, args, ctx, limit.signal, timeoutMs)
      if (outcome.kind === 'result') return outcome.result
      if (limit.expired) return errorResult(new MeshCallTimeoutError(tool, timeoutMs, peer).message)
      throw outcome.error
    } finally {
      limit.dispose()
    }
  }

  async dispatch(call: MeshCall, ctx: ToolContext, controller?: AbortController): Promise<CallToolResult> {
    this.counters.calls++
    let entry = this.#surface.resolve(call.name)
    if (entry == null) {
      // Not in our gossip neighbourhood: ask the DHT for providers.
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(DHT_LOOKUP_TIMEOUT_MS)])
      await this.#catalog.lookup(call.name, signal).catch((err: unknown) => {
        log('dht lookup for %s failed: %s', call.name, errorMessage(err))
      })
      entry = this.#surface.resolve(call.name)
    }
    if (entry == null) {
      this.counters.noProvider++
      return errorResult(new NoProviderError(call.name).message)
    }
    if (log.enabled) log('dispatch %s: providers %s', call.name, entry.providers.join(','))
    // Each attempt runs under the called provider's own policy (its signed record), never the
    // listing's: the whole call gets the longest of them, each attempt its provider's timeout.
    const timeoutMs =
      call.meta?.timeoutMs ??
      entry.providers.reduce((longest, peer) => Math.max(longest, this.#policyOf(entry, peer).timeoutMs), 0)
    const retry: RetryPolicy | undefined = call.meta?.retry
    const requiredTags = call.meta?.tags ?? NO_TAGS
    // The caller's own controller (made for this call alone) takes the deadline (callDeadline).
    const limit = callDeadline(ctx.signal, timeoutMs, controller)
    try {
      const first = await this.#dispatchTo(call, entry, ctx, limit, timeoutMs, retry, requiredTags)
      if (first.executed || limit.signal.aborted) return first.result
      // No known provider could run it (all unreachable or refusing): look
      // further, as on a catalog miss, and try any provider found once.
      const known = new Set(entry.providers)
      await this.#catalog
        .lookup(call.name, AbortSignal.any([limit.signal, AbortSignal.timeout(DHT_LOOKUP_TIMEOUT_MS)]))
        .catch(() => {})
      const fresh = this.#surface.resolve(call.name)
      const added = fresh?.providers.filter((peer) => !known.has(peer)) ?? []
      if (fresh == null || added.length === 0) return first.result
      return (await this.#dispatchTo(call, { ...fresh, providers: added }, ctx, limit, timeoutMs, retry, requiredTags))
        .result
    } finally {
      limit.dispose()
    }
  }

  async #dispatchTo(
    call: MeshCall,
    offered: SurfaceEntry,
    ctx: ToolContext,
    limit: Deadline,
    timeoutMs: number,
    retryOverride: RetryPolicy | undefined,
    requiredTags: readonly string[]
  ): Promise<{ result: CallToolResult; executed: boolean }> {
    const { signal } = limit
    // The rendezvous key only orders several providers.
    const key = offered.providers.length > 1 ? randomUUID() : ''
    // trust.sendTo: a provider it does not list is never called (the catalog lists none; a belt to those braces).
    const sendable = this.#sendable(offered.providers)
    if (sendable.length === 0) {
      const refused = offered.providers[0]
      const message =
        refused != null ? new OutboundDeniedError(refused).message : new NoProviderError(call.name).message
      return { result: errorResult(message), executed: false }
    }
    const entry = sendable.length < offered.providers.length ? { ...offered, providers: sendable } : offered
    // Peers without a live connection are tried last (they may be gone for good).
    const tried = new Set<string>()
    for (const peer of entry.providers) if (this.#catalog.peer(peer)?.disconnectedAt != null) tried.add(peer)
    // Attempts that reached a peer and may have run the tool.
    let executions = 0
    let mayRepeat = false
    let lastError: Error | undefined
    const attempted = new Set<string>()

    const maxAttempts =
      retryOverride?.maxAttempts ??
      entry.providers.reduce((most, peer) => Math.max(most, this.#policyOf(entry, peer).retry.maxAttempts), 1)
    for (let round = 0; round <= entry.providers.length + maxAttempts; round++) {
      const ranked = this.#ranked(entry, key, requiredTags, tried)
      // Prefer a peer not tried yet; re-use one only for an allowed retry.
      const peer = nextPeer(ranked, tried, attempted) ?? (mayRepeat ? ranked[0] : undefined)
      if (peer == null) break
      tried.add(peer)
      attempted.add(peer)
      mayRepeat = false
      // This provider's own policy (a caller's override aside): its timeout, retry policy, idempotency.
      const policy = this.#policyOf(entry, peer)
      const retry = retryOverride ?? policy.retry
      const attemptMs = call.meta?.timeoutMs ?? Math.min(timeoutMs, policy.timeoutMs)
      const own = attemptMs < timeoutMs ? deadline(signal, attemptMs) : undefined
      let outcome: Outcome
      try {
        outcome = await this.#attempt(peer, entry.remoteName, call.args, ctx, own?.signal ?? signal, attemptMs)
      } finally {
        own?.dispose()
      }
      // The deadline first: with deadlineOn it aborts ctx.signal itself.
      if (limit.expired || own?.expired === true) {
        this.counters.timeouts++
        const ms = limit.expired ? timeoutMs : attemptMs
        return { result: errorResult(new MeshCallTimeoutError(call.name, ms, peer).message), executed: true }
      }
      if (ctx.signal.aborted) return { result: errorResult(`${call.name} was cancelled`), executed: true }
      if (outcome.kind === 'not-executed') {
        lastError = outcome.error
        this.counters.failovers++
        log('failing over %s from %s: %s', call.name, peer, outcome.error.message)
        continue
      }
      executions++
      if (outcome.kind === 'result') {
        const { result } = outcome
        if (result.isError !== true || !retry.retryOnToolError || executions >= retry.maxAttempts) {
          return { result: annotate(result, peer, executions, call.name), executed: true }
        }
        lastError = new RemoteToolError(peer, call.name, 'tool returned an error')
      } else {
        lastError = outcome.error
        // It may have run: only the tool's retry policy may run it again, or
        // the tool declaring itself idempotent (re-running it is harmless),
        // and then on another provider. The attempts are in the result's _meta.
        // Idempotent only if the provider that may have run it and every other one left say so.
        const idempotent =
          policy.idempotent && entry.providers.every((p) => attempted.has(p) || this.#policyOf(entry, p).idempotent)
        const retryAllowed = retry.policy !== 'none' && executions < retry.maxAttempts
        const untried = entry.providers.some((p) => !attempted.has(p))
        if (!retryAllowed && !(idempotent && untried)) break
        log(
          'retrying %s after a transport failure on %s (it may have run there): %s',
          call.name,
          peer,
          outcome.error.message
        )
      }
      this.counters.retries++
      mayRepeat = true
      await backoff(retry, executions, signal)
    }
    if (lastError instanceof ProtocolError && lastError.code === ProtocolErrorCode.InvalidParams) throw lastError
    return {
      result: errorResult(lastError?.message ?? new NoProviderError(call.name).message),
      executed: executions > 0
    }
  }

  /**
   * The providers trust.sendTo lets this node call (each refusal counted once): the list itself when it
   * refuses none (no copy per call).
   */
  #sendable(providers: string[]): string[] {
    let allowed: string[] | undefined
    for (let i = 0; i < providers.length; i++) {
      const peer = providers[i]!
      const sendable = this.#gate.checkSend('call', peer)
      if (allowed !== undefined) {
        if (sendable) allowed.push(peer)
      } else if (!sendable) allowed = providers.slice(0, i)
    }
    return allowed ?? providers
  }

  /**
   * The providers' peer ids, best first (rankCandidates); one provider and no required tags (the common
   * case) is its own ranking, with no candidate built for it.
   */
  #ranked(
    entry: SurfaceEntry,
    key: string,
    requiredTags: readonly string[],
    tried: ReadonlySet<string>
  ): readonly string[] {
    if (entry.providers.length === 1 && requiredTags.length === 0) return entry.providers
    return rankCandidates(this.#candidates(entry), { key, requiredTags, tried }).map((c) => c.peerId)
  }

  /** The policy of `peer`'s own offer of the entry's tool (its signed record and its own listing). */
  #policyOf(entry: SurfaceEntry, peer: string): ProviderPolicy {
    return providerPolicy(this.#catalog.peer(peer)?.tools.get(entry.remoteName))
  }

  #candidates(entry: SurfaceEntry): Candidate[] {
    return entry.providers.map((peerId) => {
      const peer = this.#catalog.peer(peerId)
      const tool = peer?.tools.get(entry.remoteName)
      return {
        peerId,
        inFlight: (peer?.load.inFlight ?? 0) + this.#outstanding.get(peerId),
        queued: peer?.load.queued ?? 0,
        maxConcurrency: peer?.capacity.maxConcurrency ?? 1,
        latencyMs: peer?.latencyMs,
        tags: tool?.advert.tags ?? []
      }
    })
  }

  async #attempt(
    peer: string,
    tool: string,
    args: JsonObject,
    ctx: ToolContext,
    signal: AbortSignal,
    timeoutMs: number
  ): Promise<Outcome> {
    if (!this.#gate.maySendTo(peer)) return { kind: 'not-executed', error: new OutboundDeniedError(peer) }
    // An open stream's client without a promise and a turn per call; else open it (or wait for it).
    let client = this.#pool.ready(peer)
    if (client == null) {
      try {
        client = await this.#pool.get(peer, { signal })
      } catch (err) {
        return {
          kind: 'not-executed',
          error: err instanceof PeerUnreachableError ? err : new PeerUnreachableError(peer, errorMessage(err))
        }
      }
    }
    this.#outstanding.increment(peer)
    // The peer tags its log messages with the call's tag: they reach this call's caller.
    const logs = ctx.log != null ? this.#pool.logs.open(ctx.log) : undefined
    try {
      // A client span per attempt; the transport puts its trace context in the request's _meta.
      // `signal` is a deadline of at most `timeoutMs` made before this attempt: the call needs no timer of its own.
      const params: CallToolParams =
        logs != null
          ? { name: tool, arguments: args, _meta: { [CALL_RELAY_META_KEY]: logs.tag } }
          : { name: tool, arguments: args }
      const result = await withSpan(
        `peer call ${tool}`,
        { kind: 'client', attributes: { 'gen_ai.tool.name': tool, 'mcp_mesh.peer': peer } },
        // Input the peer's tool asks for (elicitation, sampling, roots) goes to this call's caller.
        () =>
          callerInput.run(ctx.requestInput, () =>
            callPeerTool(client, params, {
              signal,
              timeout: timeoutMs,
              signalDeadline: true,
              onprogress: (progress) => ctx.reportProgress(progress)
            })
          ),
        isToolError
      )
      return { kind: 'result', result }
    } catch (err) {
      const refusal = peerRefusal(err)
      if (refusal === 'denied') return { kind: 'not-executed', error: new PeerDeniedError(peer, errorMessage(err)) }
      // Busy or rate-limited: it did not run the call; another provider may.
      if (refusal != null) return { kind: 'not-executed', error: new PeerUnreachableError(peer, errorMessage(err)) }
      if (err instanceof ProtocolError) {
        if (err.code === ProtocolErrorCode.InvalidParams) {
          return {
            kind: 'maybe-executed',
            error: new ProtocolError(ProtocolErrorCode.InvalidParams, `peer ${peer}: ${err.message}`)
          }
        }
        return { kind: 'maybe-executed', error: new RemoteToolError(peer, tool, err.message) }
      }
      if (
        err instanceof SdkError &&
        (err.code === SdkErrorCode.ConnectionClosed || err.code === SdkErrorCode.SendFailed)
      ) {
        await this.#pool.drop(peer)
        return { kind: 'maybe-executed', error: new PeerUnreachableError(peer, err.message) }
      }
      if (err instanceof SdkError && err.code === SdkErrorCode.NotConnected) {
        await this.#pool.drop(peer)
        return { kind: 'not-executed', error: new PeerUnreachableError(peer, err.message) }
      }
      return { kind: 'maybe-executed', error: err instanceof Error ? err : new Error(String(err)) }
    } finally {
      logs?.close()
      this.#outstanding.decrement(peer)
    }
  }
}

/** The first ranked peer neither tried nor attempted, else the first not attempted. */
function nextPeer(
  ranked: readonly string[],
  tried: ReadonlySet<string>,
  attempted: ReadonlySet<string>
): string | undefined {
  for (const peer of ranked) if (!tried.has(peer) && !attempted.has(peer)) return peer
  for (const peer of ranked) if (!attempted.has(peer)) return peer
  return undefined
}

function isToolError(result: CallToolResult): string | undefined {
  return result.isError === true ? 'tool error' : undefined
}

function annotate(result: CallToolResult, peer: string, attempts: number, tool: string): CallToolResult {
  // The peer's 2026-07-28 wire names the peer in serverInfo: this node's own front names itself.
  const { [SERVER_INFO_META_KEY]: _peerInfo, ...meta } = result._meta ?? {}
  const annotated: CallToolResult = {
    ...result,
    _meta: { ...meta, [RESULT_PEER_META_KEY]: peer, [RESULT_ATTEMPTS_META_KEY]: attempts }
  }
  if (result.isError === true) annotated.content = markedOrigin(result.content, peer, tool)
  return annotated
}

/**
 * A remote error's content as the tool sent it, with its origin marked: the
 * first text block reads `tool "<name>" failed on peer <id>: <its text>`;
 * every other block (more text, images, resources, annotations, `_meta`)
 * passes unchanged. Content without text gets the marker as a leading block.
 */
function markedOrigin(content: CallToolResult['content'], peer: string, tool: string): CallToolResult['content'] {
  const first = content.findIndex((block) => block.type === 'text')
  if (first < 0) return [{ type: 'text', text: new RemoteToolError(peer, tool, '').message.trimEnd() }, ...content]
  return content.map((block, index) =>
    index === first && block.type === 'text'
      ? { ...block, text: new RemoteToolError(peer, tool, block.text).message }
      : block
  )
}

/**
 * Waits before another attempt, or until the call is aborted. A call re-run
 * under policy `none` (an idempotent tool failing over, or `retryOnToolError`)
 * waits as under `linear`.
 */
async function backoff(policy: RetryPolicy, attempt: number, signal: AbortSignal): Promise<void> {
  const delay = retryDelayMs(
    { policy: policy.policy === 'exponential' ? 'exponential' : 'linear', baseDelayMs: policy.baseDelayMs },
    attempt
  )
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, delay)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true }
    )
  })
}
