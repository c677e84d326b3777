import { randomBytes, randomUUID } from 'node:crypto'
import {
  type ClientCapabilities,
  createRequestStateCodec,
  type InputRequiredResult,
  inputRequired,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  type ServerContext
} from '@modelcontextprotocol/server'
import type { InputRequest, ToolProgress } from '../tools/types.js'
import { DEFAULT_INPUT_ROUND_TTL_MS, INPUT_ROUND_GATHER_MS, MAX_PENDING_INPUT_CALLS } from './constants.js'

/** The client capability each embedded request needs. */
const CAPABILITY_OF: Record<InputRequest['method'], keyof ClientCapabilities> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots'
}

interface Waiting {
  request: InputRequest
  resolve: (response: Record<string, unknown>) => void
  reject: (err: Error) => void
}

/**
 * What a call that has not asked for input holds instead of a map and an
 * object of its own (two allocations less per call): shared, so never
 * written; `#ask` gives the call its own before the first write.
 */
const NO_WAITING = new Map<string, Waiting>()
const NO_MISSING: ClientCapabilities = Object.freeze({})

interface PendingCall<R> {
  /** Set when the call first waits for input (a call that never does needs no id). */
  id?: string
  round: number
  settled: boolean
  result?: { value: R } | { error: unknown }
  /** NO_WAITING until the call first asks (most never do): then its own map. */
  waiting: Map<string, Waiting>
  /** Capabilities of the caller, as its latest request declared them. */
  capabilities: ClientCapabilities
  /** Capabilities a request needed and the caller lacked: the answer is -32021 if the call then fails (NO_MISSING: none yet). */
  missing: ClientCapabilities
  /** Wakes the round in progress (a result, or an input request). */
  wake?: () => void
  progress?: (progress: ToolProgress) => void
  readonly controller: AbortController
  expiry?: NodeJS.Timeout
  nextKey: number
}

export interface InputRoundsInit {
  /** A call waiting for input is abandoned (and aborted) after this long (default 10 min). */
  ttlMs?: number
}

export interface RoundContext {
  signal: AbortSignal
  /**
   * The controller of `signal`, made for this call alone: the executor may
   * abort it (a tool's timeout) rather than chain a controller of its own.
   */
  controller: AbortController
  /** Relays the call's progress to whichever request of the flow is open. */
  reportProgress: (progress: ToolProgress) => void
  /** Asks the caller for input: an embedded request of an input_required round. */
  requestInput: (request: InputRequest) => Promise<Record<string, unknown>>
}

/**
 * Multi-round-trip (2026-07-28 `input_required`) rounds for calls whose
 * executor asks for input in the 2025 way, as a promise (a proxied 2025
 * server sending `elicitation/create`, a peer doing the same). The call runs
 * on; each time it waits for input and nothing else happens, the request is
 * answered with an `InputRequiredResult` carrying the pending requests and
 * an HMAC-sealed `requestState`; the client's retry (any server instance of
 * this front: state lives here) delivers `inputResponses` to the waiting
 * promises and the call continues. The SDK's legacy shim runs the same
 * rounds as real server-to-client requests for a 2025 client, so one code
 * path serves both eras.
 */
export class InputRounds {
  readonly #codec = createRequestStateCodec<{ id: string; round: number }>({
    key: randomBytes(32),
    ttlSeconds: Math.ceil((DEFAULT_INPUT_ROUND_TTL_MS * 2) / 1000)
  })
  readonly #pending = new Map<string, PendingCall<unknown>>()
  readonly #ttlMs: number

  constructor(init: InputRoundsInit = {}) {
    this.#ttlMs = init.ttlMs ?? DEFAULT_INPUT_ROUND_TTL_MS
  }

  /** `ServerOptions.requestState.verify`: a tampered or expired state is refused with -32602. */
  readonly verify = async (state: string, ctx: ServerContext): Promise<unknown> => this.#codec.verify(state, ctx)

  /**
   * Serves one request of a flow: a fresh call (`start` runs it) or the retry
   * of a call waiting for input. Resolves with the call's result, or with an
   * `InputRequiredResult` when the call waits for input.
   */
  serve<R>(
    ctx: ServerContext,
    capabilities: ClientCapabilities,
    reportProgress: (progress: ToolProgress) => void,
    start: (round: RoundContext) => Promise<R>
  ): Promise<R | InputRequiredResult> {
    const state = ctx.mcpReq.requestState<{ id: string; round: number }>()
    if (state != null && typeof state === 'object') return this.#retry(state, ctx, capabilities, reportProgress)
    let call: PendingCall<unknown>
    try {
      call = this.#start(capabilities, reportProgress, start, ctx.mcpReq.signal)
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#opening(call, ctx) as Promise<R | InputRequiredResult>
  }

  async #retry<R>(
    state: { id: string; round: number },
    ctx: ServerContext,
    capabilities: ClientCapabilities,
    reportProgress: (progress: ToolProgress) => void
  ): Promise<R | InputRequiredResult> {
    const call = this.#pending.get(state.id)
    if (call == null || call.round !== state.round) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid or expired requestState: no call waits for it')
    }
    call.capabilities = capabilities
    call.progress = reportProgress
    this.#deliver(call, ctx.mcpReq.inputResponses ?? {})
    return (await this.#round(call, ctx)) as R | InputRequiredResult
  }

  /**
   * The opening request of a call: answered straight from the settling call
   * (no round loop, no promise between the call and the answer: most calls
   * never ask for input), or, once the call asks, by a round as a retry is.
   */
  #opening(call: PendingCall<unknown>, ctx: ServerContext): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        call.wake = undefined
        if (!call.settled) {
          resolve(this.#round(call, ctx))
          return
        }
        try {
          resolve(this.#outcome(call))
        } catch (err) {
          reject(err)
        }
      }
      call.wake = wake
      // The call may have asked already, synchronously as it started.
      if (call.waiting.size > 0) wake()
    })
  }

  /** Abandons every waiting call (the node stops). */
  close(): void {
    for (const call of this.#pending.values()) this.#abandon(call, new Error('the node is stopping'))
  }

  #start<R>(
    capabilities: ClientCapabilities,
    reportProgress: (progress: ToolProgress) => void,
    start: (round: RoundContext) => Promise<R>,
    requestSignal: AbortSignal
  ): PendingCall<unknown> {
    if (this.#pending.size >= MAX_PENDING_INPUT_CALLS) {
      throw new ProtocolError(
        ProtocolErrorCode.InternalError,
        `too many calls waiting for input (${MAX_PENDING_INPUT_CALLS}); answer or abandon some first`
      )
    }
    const call: PendingCall<unknown> = {
      round: 0,
      settled: false,
      waiting: NO_WAITING,
      capabilities,
      missing: NO_MISSING,
      progress: reportProgress,
      controller: new AbortController(),
      nextKey: 1
    }
    // Cancelling the opening request cancels the call, as without rounds, until it is answered;
    // later only expiry or a cancelled retry does (a stateless request's signal may abort
    // once its server closes).
    const onOpeningAbort = (): void => {
      if (call.round === 0 && !call.settled) call.controller.abort(requestSignal.reason)
    }
    requestSignal.addEventListener('abort', onOpeningAbort, { once: true })
    const round: RoundContext = {
      signal: call.controller.signal,
      controller: call.controller,
      reportProgress: (progress) => call.progress?.(progress),
      requestInput: async (request) => this.#ask(call, request)
    }
    start(round).then(
      (value) => this.#settle(call, { value }),
      (error: unknown) => this.#settle(call, { error })
    )
    return call
  }

  async #ask(call: PendingCall<unknown>, request: InputRequest): Promise<Record<string, unknown>> {
    const capability = CAPABILITY_OF[request.method]
    if (call.capabilities[capability] == null) {
      if (call.missing === NO_MISSING) call.missing = {}
      call.missing[capability] = {}
      throw new MissingRequiredClientCapabilityError({ requiredCapabilities: { [capability]: {} } })
    }
    if (call.settled || call.controller.signal.aborted) throw new Error('the call is over')
    if (request.signal?.aborted === true) throw new Error(`${request.method} was cancelled by the server that asked`)
    return new Promise((resolve, reject) => {
      const key = `${capability}-${call.nextKey++}`
      if (call.waiting === NO_WAITING) call.waiting = new Map()
      call.waiting.set(key, { request, resolve, reject })
      // The asking server cancelled: no longer waiting, and the next round does not carry it.
      request.signal?.addEventListener(
        'abort',
        () => {
          if (call.waiting.delete(key)) reject(new Error(`${request.method} was cancelled by the server that asked`))
        },
        { once: true }
      )
      call.wake?.()
    })
  }

  #deliver(call: PendingCall<unknown>, responses: Record<string, unknown>): void {
    for (const [key, waiting] of call.waiting) {
      const response = responses[key]
      // A missing or malformed response keeps the request waiting: the next round asks again.
      if (response == null || typeof response !== 'object' || Array.isArray(response)) continue
      call.waiting.delete(key)
      waiting.resolve(response as Record<string, unknown>)
    }
  }

  #settle(call: PendingCall<unknown>, result: NonNullable<PendingCall<unknown>['result']>): void {
    call.settled = true
    call.result = result
    // Most calls never asked: no iterator, and no clear() (which allocates a new table).
    if (call.waiting.size > 0) {
      for (const waiting of call.waiting.values()) waiting.reject(new Error('the call is over'))
      call.waiting.clear()
    }
    call.wake?.()
  }

  async #round(call: PendingCall<unknown>, ctx: ServerContext): Promise<unknown> {
    clearTimeout(call.expiry)
    if (call.id !== undefined) this.#pending.delete(call.id)
    // Wait for the result or for input requests; a request that comes with others (Promise.all
    // on the server) joins the same round.
    const signal = ctx.mcpReq.signal
    // Only a retry's cancellation needs to wake the wait: the opening request's aborts the call,
    // which then settles (one listener less per call).
    const retry = call.round > 0
    const onAbort = (): void => call.wake?.()
    if (retry && !call.settled && call.waiting.size === 0) signal.addEventListener('abort', onAbort, { once: true })
    while (!call.settled && call.waiting.size === 0) {
      // The opening request's cancellation reaches the call through its signal: wait for it
      // to settle. A retry's cancellation abandons the call.
      if (signal.aborted && call.round > 0) {
        this.#abandon(call, new Error('the client cancelled the request'))
        break
      }
      await new Promise<void>((resolve) => {
        call.wake = resolve
      })
    }
    if (retry) signal.removeEventListener('abort', onAbort)
    if (!call.settled) await new Promise((resolve) => setTimeout(resolve, INPUT_ROUND_GATHER_MS))
    call.wake = undefined
    if (call.settled) return this.#outcome(call)
    call.round++
    call.id ??= randomUUID()
    this.#pending.set(call.id, call)
    call.expiry = setTimeout(() => this.#abandon(call, new Error('no answer to its input requests')), this.#ttlMs)
    call.expiry.unref()
    const inputRequests = Object.fromEntries(
      [...call.waiting].map(([key, { request }]) => [key, { method: request.method, params: request.params ?? {} }])
    )
    return inputRequired({
      inputRequests: inputRequests as Parameters<typeof inputRequired>[0]['inputRequests'],
      requestState: await this.#codec.mint({ id: call.id, round: call.round })
    })
  }

  /** What a settled call answers: its result, its error, or -32021 when it failed for want of a capability. */
  #outcome(call: PendingCall<unknown>): unknown {
    const result = call.result!
    if ('value' in result) {
      if (hasKeys(call.missing) && isErrorResult(result.value)) {
        throw new MissingRequiredClientCapabilityError({ requiredCapabilities: call.missing })
      }
      return result.value
    }
    if (hasKeys(call.missing)) {
      throw new MissingRequiredClientCapabilityError({ requiredCapabilities: call.missing })
    }
    throw result.error
  }

  #abandon(call: PendingCall<unknown>, reason: Error): void {
    clearTimeout(call.expiry)
    if (call.id !== undefined) this.#pending.delete(call.id)
    call.controller.abort(reason)
    if (call.waiting.size === 0) return
    for (const waiting of call.waiting.values()) waiting.reject(reason)
    call.waiting.clear()
  }
}

function isErrorResult(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { isError?: unknown }).isError === true
}

/** Whether `value` has an own key (no array built per call, as Object.keys would). */
function hasKeys(value: object): boolean {
  for (const key in value) if (Object.hasOwn(value, key)) return true
  return false
}
