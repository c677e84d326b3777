import type { Stream } from '@libp2p/interface'
import {
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type Progress,
  parseJSONRPCMessage,
  SdkError,
  SdkErrorCode,
  type Transport
} from '@modelcontextprotocol/server'
import type { Uint8ArrayList } from 'uint8arraylist'
import type { RequestInterceptor } from '../mcp/fast-call.js'
import { withTraceContext } from '../tracing/context.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import type { PartialFrameBudget } from './frame-budget.js'
import { FrameDecoder, encodeFrame } from './frame.js'
import { quickJsonRpc } from '../mcp/json-rpc.js'
import { DirectCalls, type OutboundCall } from './p2p-direct-calls.js'
import { ChurnMap } from '../util/churn-map.js'

const log = meshLogger('mcp+p2p')
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Frames that are well-formed but carry bad JSON tolerated per stream before it is closed. */
export const MAX_BAD_MESSAGES_PER_STREAM = 16

export type ProtocolViolation =
  | 'oversized-frame'
  | 'malformed-frame'
  | 'invalid-json'
  | 'invalid-jsonrpc'
  /** A frame was not complete within the frame timeout of its first byte. */
  | 'frame-timeout'
  /** Partial frames of the peer (or of all peers) outgrew their byte budget. */
  | 'buffer-budget'

export const PROTOCOL_VIOLATIONS: readonly ProtocolViolation[] = [
  'oversized-frame',
  'malformed-frame',
  'invalid-json',
  'invalid-jsonrpc',
  'frame-timeout',
  'buffer-budget'
]

type RequestId = string | number

export type { OutboundCall } from './p2p-direct-calls.js'

export interface DirectRequestOptions {
  signal?: AbortSignal
  /** Asks for progress (the request's id is its progress token) and hears it. */
  onprogress?: (progress: Progress) => void
}

export interface P2PStreamTransportInit {
  maxFrameBytes: number
  /** The remote peer (the key of its partial-frame budget). */
  peer?: string
  /** A frame must be complete this long after its first byte, or the stream is aborted. */
  frameTimeoutMs?: number
  /** Shared budgets for bytes of partial frames; a stream outgrowing one is aborted. */
  budget?: PartialFrameBudget
  /** Called for every frame or message this side refused. */
  onViolation?: (kind: ProtocolViolation, detail: string) => void
}

/**
 * An MCP SDK Transport over one libp2p stream, framed as MCP++ specifies: a
 * u32 big-endian length, then UTF-8 JSON-RPC. Many requests share the stream,
 * correlated by id (the SDK's Protocol does that).
 *
 * Failure is closed: an oversized or malformed length aborts the stream (the
 * frame boundary is lost, so nothing after it can be trusted); invalid JSON
 * or a non-JSON-RPC message is answered with a JSON-RPC error, and a stream
 * that keeps sending them is aborted. A frame not complete within the frame
 * timeout, or partial frames outgrowing the peer's or the node's budget,
 * abort the stream too.
 *
 * Half-close: once the remote closes its write side and every request it
 * sent has been answered, this side closes too, so a finished session never
 * holds one of the connection's stream slots until the idle timeout.
 */
export class P2PStreamTransport implements Transport {
  readonly stream: Stream
  readonly #decoder: FrameDecoder
  readonly #init: P2PStreamTransportInit
  #badMessages = 0
  #closed = false
  /** Requests the remote sent that this side has not answered yet. */
  readonly #pending = new Set<RequestId>()
  #remoteEnded = false
  #closing = false
  /** Bytes of the partial frame charged to the budget. */
  #charged = 0
  #frameTimer?: NodeJS.Timeout
  #interceptor?: RequestInterceptor
  /**
   * Requests of the remote taken over by the interceptor, by id: the
   * remote's `notifications/cancelled` and the stream closing abort them.
   */
  readonly #intercepted = new ChurnMap<RequestId, AbortController>()
  /** Requests of this side sent outside the SDK (request(), call()). */
  readonly #direct = new DirectCalls(async (message) => this.#sendMessage(message))
  /** Frames waiting for the end of this event-loop turn (see #enqueue). */
  #queue: Uint8Array[] = []
  #batch?: PromiseWithResolvers<void>
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void

  constructor(stream: Stream, init: P2PStreamTransportInit) {
    this.stream = stream
    this.#init = init
    this.#decoder = new FrameDecoder(init.maxFrameBytes)
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Requests received and not answered yet. */
  get pendingRequests(): number {
    return this.#pending.size
  }

  async start(): Promise<void> {
    this.stream.addEventListener('message', (event) => this.#onData(event.data))
    this.stream.addEventListener('close', () => this.#finish(), { once: true })
    // 'end', not 'remoteCloseWrite': it comes once every byte the remote sent
    // has been delivered, so requests still buffered are read (and answered)
    // before this side closes. A stream that ended before start is caught by readableEnded.
    this.stream.addEventListener('end', () => this.#onRemoteEnd(), { once: true })
    if (this.stream.status !== 'open') this.#finish()
    else if (this.stream.readableEnded) this.#onRemoteEnd()
  }

  /** Never throws: #sendMessage is async, so a failure is its rejection (one async layer less per message). */
  send(message: JSONRPCMessage): Promise<void> {
    return this.#sendMessage(message)
  }

  /** send() as this class wrote it: the direct paths use it, so a wrapper of send() never sees their ids. */
  async #sendMessage(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) throw new Error('stream is closed')
    // Outbound tools/call requests carry the caller's W3C trace context in _meta.
    const frame = encodeFrame(JSON.stringify(withTraceContext(message)), this.#init.maxFrameBytes)
    const answered = responseId(message)
    if (answered !== undefined) this.#intercepted.delete(answered)
    try {
      await this.#enqueue(frame)
    } finally {
      if (answered !== undefined && this.#pending.delete(answered)) this.#closeIfDone()
    }
  }

  /**
   * The first frame sent while one event (one read of the stream, one timer)
   * is handled leaves at once; the frames that follow it leave together, as
   * one `stream.send` (one yamux frame, one noise message, one TCP write),
   * once the event's promise jobs have run (a next-tick callback runs after
   * them): with many calls in flight, two writes and two wake-ups of the
   * remote per batch instead of one per message, and a lone message leaves
   * as before. Resolves once the frame was handed to the stream (and the
   * stream drained, if it asked to).
   */
  async #enqueue(frame: Uint8Array): Promise<void> {
    if (this.#batch != null) {
      this.#queue.push(frame)
      return this.#batch.promise
    }
    // The first frame leaves at once; those that follow while this event is handled wait for it.
    this.#batch = Promise.withResolvers<void>()
    process.nextTick(this.#flush)
    if (!this.stream.send(frame)) await this.stream.onDrain()
  }

  readonly #flush = (): void => {
    const batch = this.#batch
    if (batch == null) return
    this.#batch = undefined
    const frames = this.#queue
    this.#queue = []
    if (frames.length === 0) {
      batch.resolve()
      return
    }
    try {
      const data = frames.length === 1 ? frames[0]! : Buffer.concat(frames)
      if (this.stream.send(data)) batch.resolve()
      else this.stream.onDrain().then(batch.resolve, batch.reject)
    } catch (err) {
      batch.reject(err)
    }
  }

  /** Sets the taker of the remote's requests (see RequestInterceptor). */
  intercept(interceptor: RequestInterceptor | undefined): void {
    this.#interceptor = interceptor
  }

  /**
   * Sends one request and resolves with its result, without the MCP SDK's
   * per-request work; the SDK client on the same stream keeps its own ids.
   * An error response rejects with a ProtocolError; the stream closing with
   * SdkError ConnectionClosed; an abort sends `notifications/cancelled` and
   * rejects with the signal's reason.
   */
  async request(
    method: string,
    params: Record<string, unknown>,
    options: DirectRequestOptions = {}
  ): Promise<Record<string, unknown>> {
    const { signal, onprogress } = options
    if (this.#closed) throw new SdkError(SdkErrorCode.NotConnected, 'Not connected')
    signal?.throwIfAborted()
    const call = this.#direct.call(
      (id) => ({
        jsonrpc: '2.0',
        id,
        method,
        params:
          onprogress != null
            ? { ...params, _meta: { ...(params._meta as Record<string, unknown> | undefined), progressToken: id } }
            : params
      }),
      onprogress != null
        ? (notification) => {
            const { progressToken: _token, _meta, ...progress } = notification.params as Record<string, unknown>
            onprogress(progress as unknown as Progress)
          }
        : undefined
    )
    if (signal == null) return call.response
    const { promise: aborted, reject } = Promise.withResolvers<never>()
    const onAbort = (): void => {
      if (!call.forget()) return
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)))
      if (this.#closed) return
      const reason = errorMessage(signal.reason)
      this.#sendMessage({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: call.id, reason }
      }).catch(() => {})
    }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      return await Promise.race([call.response, aborted])
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  /**
   * Sends the request `build` makes around its id (a string, so it never
   * meets the SDK client's numeric ids) and hands back its response, without
   * any of the SDK's per-request work: the caller owns timeouts, abort and
   * cancellation (see fast-client-call.ts). Progress notifications carrying
   * the id as their token go to `onnotification`, as received.
   */
  call(
    build: (id: string) => JSONRPCRequest,
    onnotification?: (notification: JSONRPCNotification) => void
  ): OutboundCall {
    return this.#direct.call(build, onnotification)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closing = true
    this.#flush()
    try {
      await this.stream.close({ signal: AbortSignal.timeout(1_000) })
    } catch {
      this.stream.abort(new Error('close timed out'))
    }
    this.#finish()
  }

  #onData(data: Uint8Array | Uint8ArrayList): void {
    if (this.#closed) return
    if (!this.#charge(this.#charged + data.byteLength)) return
    let frames: Uint8Array[]
    try {
      frames = this.#decoder.push(data)
    } catch (err) {
      const kind = (err as Error).name === 'FrameTooLargeError' ? 'oversized-frame' : 'malformed-frame'
      this.#fail(kind, errorMessage(err), err as Error)
      return
    }
    this.#charge(this.#decoder.buffered)
    this.#armFrameTimer(frames.length > 0)
    for (const frame of frames) {
      const message = this.#parse(frame)
      if (message != null) {
        this.#track(message)
        if (!this.#takeOver(message)) this.onmessage?.(message)
      }
      if (this.#closed) return
    }
  }

  /** Charges the partial frame at `bytes` to the budget; aborts the stream (false) when over. */
  #charge(bytes: number): boolean {
    const budget = this.#init.budget
    if (budget == null) return true
    const over = budget.resize(this.#init.peer ?? '', this.#charged, bytes)
    if (over == null) {
      this.#charged = bytes
      return true
    }
    const limit = over === 'peer' ? budget.perPeer : budget.total
    this.#fail('buffer-budget', `partial frames over the ${over} budget of ${limit} bytes`)
    return false
  }

  /** A frame's first byte starts its deadline; a complete frame ends it. */
  #armFrameTimer(frameCompleted: boolean): void {
    const timeoutMs = this.#init.frameTimeoutMs
    if (timeoutMs == null) return
    if (this.#decoder.buffered === 0) {
      clearTimeout(this.#frameTimer)
      this.#frameTimer = undefined
      return
    }
    if (this.#frameTimer != null && !frameCompleted) return
    clearTimeout(this.#frameTimer)
    this.#frameTimer = setTimeout(() => {
      this.#frameTimer = undefined
      this.#fail('frame-timeout', `frame not complete ${timeoutMs} ms after its first byte`)
    }, timeoutMs)
    this.#frameTimer.unref()
  }

  /** Handles what belongs to the direct paths (true), else leaves the message to the SDK. */
  #takeOver(message: JSONRPCMessage): boolean {
    if (this.#direct.take(message)) return true
    if (!('method' in message)) return false
    if ('id' in message) {
      const controller = this.#interceptor?.(message as JSONRPCRequest)
      if (controller == null) return false
      this.#intercepted.set(message.id, controller)
      return true
    }
    if (message.method !== 'notifications/cancelled') return false
    const params = message.params as { requestId?: unknown; reason?: unknown } | undefined
    const id = params?.requestId
    const controller = typeof id === 'string' || typeof id === 'number' ? this.#intercepted.get(id) : undefined
    if (controller == null) return false
    this.#intercepted.delete(id as RequestId)
    controller.abort(new Error(`cancelled by the peer: ${String(params?.reason ?? '')}`))
    return true
  }

  /** Requests of the remote are pending until answered (or cancelled by it). */
  #track(message: JSONRPCMessage): void {
    if (!('method' in message)) return
    if ('id' in message) {
      this.#pending.add(message.id)
      return
    }
    if (message.method === 'notifications/cancelled') {
      const id = (message.params as { requestId?: unknown } | undefined)?.requestId
      if ((typeof id === 'string' || typeof id === 'number') && this.#pending.delete(id)) this.#closeIfDone()
    }
  }

  #onRemoteEnd(): void {
    // 'end' also follows our own abort; only the remote ending its write side counts here.
    if (this.stream.remoteWriteStatus !== 'closed' || this.stream.status !== 'open') return
    this.#remoteEnded = true
    this.#closeIfDone()
  }

  /** The remote ended its side and nothing it asked is unanswered: end ours. */
  #closeIfDone(): void {
    if (!this.#remoteEnded || this.#pending.size > 0 || this.#closed || this.#closing) return
    log('remote ended its side of %p; closing ours', this.stream)
    void this.close()
  }

  #fail(kind: ProtocolViolation, detail: string, err?: Error): void {
    this.#violation(kind, detail)
    this.stream.abort(err ?? new Error(detail))
    this.#finish()
  }

  #parse(frame: Uint8Array): JSONRPCMessage | undefined {
    let value: unknown
    try {
      value = JSON.parse(decoder.decode(frame))
    } catch (err) {
      this.#reject('invalid-json', errorMessage(err), null, -32700, 'Parse error')
      return undefined
    }
    try {
      // The common shapes are checked by hand; anything else gets the SDK's full schema.
      return quickJsonRpc(value) ?? parseJSONRPCMessage(value)
    } catch (err) {
      const rawId = (value as { id?: unknown } | null)?.id
      const id = typeof rawId === 'string' || typeof rawId === 'number' ? rawId : null
      this.#reject('invalid-jsonrpc', errorMessage(err), id, -32600, 'Invalid Request: not a JSON-RPC 2.0 message')
      return undefined
    }
  }

  #reject(kind: ProtocolViolation, detail: string, id: string | number | null, code: number, message: string): void {
    this.#violation(kind, detail)
    if (++this.#badMessages > MAX_BAD_MESSAGES_PER_STREAM) {
      this.stream.abort(new Error(`too many invalid messages (${this.#badMessages})`))
      this.#finish()
      return
    }
    const frame = encodeFrame(
      JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }),
      this.#init.maxFrameBytes
    )
    try {
      this.#flush()
      this.stream.send(frame)
    } catch (err) {
      log('could not send error response: %s', errorMessage(err))
    }
  }

  #violation(kind: ProtocolViolation, detail: string): void {
    log('protocol violation from %p: %s (%s)', this.stream, kind, detail)
    this.#init.onViolation?.(kind, detail)
  }

  #finish(): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#frameTimer)
    this.#frameTimer = undefined
    this.#init.budget?.resize(this.#init.peer ?? '', this.#charged, 0)
    this.#charged = 0
    this.#pending.clear()
    // The reason the SDK gives its own handlers when a connection closes: a
    // handler tells a dropped connection from a cancel by it (a pushed task
    // keeps running for a re-lease), whichever path took the request.
    const closed = new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed')
    for (const controller of this.#intercepted.values()) controller.abort(closed)
    this.#intercepted.clear()
    this.#direct.closeAll()
    this.onclose?.()
  }
}

/** The id a message answers, when it is a response (result or error). */
function responseId(message: JSONRPCMessage): RequestId | undefined {
  if ('method' in message || !('id' in message)) return undefined
  const id = (message as { id?: unknown }).id
  return typeof id === 'string' || typeof id === 'number' ? id : undefined
}
