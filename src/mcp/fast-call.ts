import {
  type CallToolRequest,
  type CallToolResult,
  type InputRequiredResult,
  type JSONRPCMessage,
  type JSONRPCRequest,
  ProtocolError,
  ProtocolErrorCode,
  type Server,
  type ServerContext,
  type Transport
} from '@modelcontextprotocol/server'
import { meshLogger } from '../util/logger.js'
import { ENVELOPE_META_KEYS, MODERN_ERA } from './constants.js'
import { quickToolRequest, quickToolResult } from './quick-tool-call.js'
import { sdkVersion } from './sdk-version.js'
import { isPlainObject } from '../util/object.js'

const log = meshLogger('mcp:fast-call')

/**
 * The tools/call fast path of a stream session: the SDK's `_onrequest` minus
 * what a repeated call provably does not need. Served: a peer's `/mcp+p2p`
 * session pinned to MCP 2026-07-28, and the node's stdio and local API
 * socket in either era (a 2025 client that sent `initialize`, or a
 * 2026-07-28 one). What runs is the SDK's own: the registered tools/call
 * handler (request validation, the input_required seam and the 2025 shim,
 * result validation), the session's wire codec (`encodeResult`: resultType,
 * serverInfo `_meta` on 2026-07-28; `encodeErrorCode`), `buildContext` (the
 * per-request log level), the request's abort controller in the SDK's table
 * (so `notifications/cancelled` and closing abort it as they would), and
 * notifications and the response go out through the session's channel. What
 * is skipped: serveStdio's per-message routing (the session is pinned), the
 * SDK's JSON-RPC shape checks (the transport checked the message), and on
 * 2026-07-28 the `_meta` envelope's schema parse, when the envelope is
 * identical to one the SDK validated on this session.
 *
 * Anything else goes to the SDK: another method, a retry carrying
 * `requestState` or `inputResponses`, a new envelope (2026-07-28), any
 * envelope key (2025), a session not yet initialized, an SDK whose internals
 * are not the ones this code reads.
 */

/** The era name of the SDK's 2025 codec (every 2025 revision a client can negotiate). */
const LEGACY_ERA = '2025-11-25'

/** Envelope objects built by the fast path (the handler does not record them again). */
const fastEnvelopes = new WeakSet<object>()

type Validation = { ok: true; value: unknown } | { ok: false; reason: string; message?: string }

interface WireCodec {
  era: string
  encodeResult(method: string, result: Record<string, unknown>, serverInfo: unknown): Record<string, unknown>
  encodeErrorCode(code: number): number
  validateRequest?: (method: string, raw: unknown) => Validation
  validateResult?: (method: string, raw: unknown) => Validation
}

type RequestHandler = (request: JSONRPCRequest, ctx: ServerContext) => Promise<Record<string, unknown>>

/** The session's codec, able to validate tools/call requests and results. */
type CheckingCodec = Required<Pick<WireCodec, 'era' | 'validateRequest' | 'validateResult'>>

/** The handler the front registered for tools/call (`setRequestHandler('tools/call', handler)`). */
export type ToolCallHandler = (
  request: CallToolRequest,
  ctx: ServerContext
) => Promise<CallToolResult | InputRequiredResult>

/** The parts of the SDK's Server (Protocol) that `_onrequest` uses, read at runtime. */
interface ServerInternals {
  readonly transport?: Transport
  /** Set by `initialize` (2025) or by serveStdio's pinning (2026-07-28). */
  _negotiatedProtocolVersion?: string
  _requestHandlerAbortControllers?: Map<unknown, AbortController>
  _assertOutboundRequestInEra?: (codec: unknown, method: string) => void
  _requestHandlers?: Map<string, RequestHandler>
  _negotiatedWireCodec?: () => WireCodec
  _outboundServerInfo?: () => unknown
  _resolveOutboundCodec?: (method: string) => unknown
  _notificationViaCodec?: (
    codec: unknown,
    notification: { method: string; params?: Record<string, unknown> },
    options: Record<string, unknown>
  ) => Promise<void>
  _onerror?: (error: Error) => void
  buildContext?: (ctx: Record<string, unknown>, extra: undefined) => ServerContext
  _invokeInputRequiredCapableHandler?: (
    method: string,
    handler: RequestHandler,
    request: JSONRPCRequest,
    ctx: ServerContext
  ) => Promise<unknown>
}

/**
 * The server SDK release whose tools/call handler chain was read for
 * `validatedOnce`: `Server._wrapHandler` validates the request with the
 * session's codec and keeps only whether it passed, then the handler
 * `setRequestHandler` stored validates it again with the same codec (the
 * negotiated one) and hands the parsed value to the registered handler.
 * Another release gets its registered handler as it is.
 */
const ONE_VALIDATION_SDK = '2.4.0'
const oneValidation = sdkVersion('@modelcontextprotocol/server') === ONE_VALIDATION_SDK

/** The SDK's `TOOL_RESULT_FOREIGN_FAMILY_KEYS`: results with one never default to `content: []`. */
const TOOL_RESULT_FOREIGN_FAMILY_KEYS = ['task', 'inputRequests', 'requestState']

/** The SDK's `normalizeContentlessToolResult`: a plain result without `content` gains `content: []`. */
function normalizeContentless(value: unknown): unknown {
  if (!isPlainObject(value) || value.content !== undefined) return value
  if (TOOL_RESULT_FOREIGN_FAMILY_KEYS.some((key) => key in value)) return value
  return { ...value, content: [] }
}

/** The SDK wrapper's error for a tools/call request or result its codec refused. */
function codecRefusal(failed: { reason?: string; message?: string }, what: 'request' | 'result'): ProtocolError {
  return failed.reason === 'not-in-era'
    ? new ProtocolError(ProtocolErrorCode.InternalError, 'No wire schema for tools/call in the resolved era')
    : new ProtocolError(ProtocolErrorCode.InvalidParams, `Invalid tools/call ${what}: ${failed.message}`)
}

/**
 * The SDK's registered tools/call handler (the `_wrapHandler` wrapper around
 * the stored handler) with the request parsed once: the wrapper's check, its
 * errors and its input_required seam (`_invokeInputRequiredCapableHandler`),
 * the front's handler given the parsed request as the stored handler gives
 * it, then the wrapper's contentless normalization and result validation.
 * Undefined when this SDK is not the one read (see ONE_VALIDATION_SDK).
 *
 * The seam is entered only when it has something to do: before the handler
 * it decodes a `requestState`, which a request on this path never carries
 * (its accessor answers undefined); after it, it words a thrown URL
 * elicitation error and checks (or, on 2025, fulfils) an input_required
 * result. So the handler runs first, on its own (two async layers less per
 * call), and the seam is then given that outcome: a handler that throws the
 * same error, or one that returns the same result once and runs the front's
 * handler again for any later round (the legacy shim's retries).
 */
function validatedOnce(
  server: Server,
  onCall: ToolCallHandler | undefined
): ((request: JSONRPCRequest, ctx: ServerContext, codec: CheckingCodec) => Promise<unknown>) | undefined {
  const internals = server as unknown as ServerInternals
  const invoke = internals._invokeInputRequiredCapableHandler
  if (!oneValidation || onCall == null || invoke == null) return undefined
  return async (request, ctx, codec) => {
    // The common shapes are checked by hand (quick-tool-call.ts: the codec's answer for them); the rest by the codec.
    const validated = quickToolRequest(codec.era, request) ?? codec.validateRequest('tools/call', request)
    if (!validated.ok) throw codecRefusal(validated, 'request')
    const parsed = validated.value as CallToolRequest
    const stored: RequestHandler = (_request, handlerCtx) =>
      onCall(parsed, handlerCtx) as Promise<Record<string, unknown>>
    let result: unknown
    try {
      result = await stored(request, ctx)
    } catch (error) {
      if (!(error instanceof ProtocolError && error.code === ProtocolErrorCode.UrlElicitationRequired)) throw error
      result = await invoke.call(server, 'tools/call', () => Promise.reject(error), request, ctx)
    }
    if (isPlainObject(result) && result.resultType === 'input_required') {
      let first = true
      const replay: RequestHandler = (handedRequest, handedCtx) => {
        if (!first) return stored(handedRequest, handedCtx)
        first = false
        return Promise.resolve(result as Record<string, unknown>)
      }
      result = await invoke.call(server, 'tools/call', replay, request, ctx)
    }
    if (isPlainObject(result) && result.resultType === 'input_required') return result
    const normalized = normalizeContentless(result)
    const validation = quickToolResult(codec.era, normalized) ?? codec.validateResult('tools/call', normalized)
    if (!validation.ok) throw codecRefusal(validation, 'result')
    return validation.value
  }
}

/**
 * Takes one request over (answers it itself, returning the controller that
 * aborts it) or leaves it to the session's server (undefined). The taker
 * registers the request where the server's `notifications/cancelled`
 * handling and closing find it; P2PStreamTransport also aborts it itself
 * on the peer's cancel or the stream closing.
 */
export type RequestInterceptor = (request: JSONRPCRequest) => AbortController | undefined

/** A transport whose requests can be taken over (StreamServerTransport, P2PStreamTransport). */
export interface InterceptingTransport {
  intercept(interceptor: RequestInterceptor | undefined): void
}

export function canIntercept(transport: Transport): transport is Transport & InterceptingTransport {
  return typeof (transport as Partial<InterceptingTransport>).intercept === 'function'
}

/** The key the fast path compares envelopes by (the SDK validated the one it recorded). */
export function envelopeKey(envelope: Record<string, unknown>): string | undefined {
  return fastEnvelopes.has(envelope) ? undefined : JSON.stringify(envelope)
}

/** The SDK's accessor for a request without `requestState`. */
function noRequestState(): undefined {
  return undefined
}

/** The SDK's `isStandardSchema`: a result schema given to `ctx.mcpReq.send`. */
function isStandardSchema(value: unknown): boolean {
  if (value == null || (typeof value !== 'object' && typeof value !== 'function')) return false
  const standard = (value as { '~standard'?: { validate?: unknown } })['~standard']
  return typeof standard?.validate === 'function'
}

/**
 * The `_meta` envelope of a request this path may take, split from the rest
 * of `_meta`; undefined to leave the request to the SDK. 2026-07-28: the
 * envelope must be the one the SDK last validated on the session. 2025: no
 * envelope key at all (the SDK would lift one into `ctx.mcpReq.envelope`).
 */
function liftEnvelope(
  meta: unknown,
  era: string,
  expected: unknown
): { envelope?: Record<string, unknown>; rest?: Record<string, unknown> } | undefined {
  if (era === LEGACY_ERA) {
    if (meta === undefined) return {}
    if (!isPlainObject(meta) || ENVELOPE_META_KEYS.some((key) => key in meta)) return undefined
    return { rest: meta }
  }
  if (era !== MODERN_ERA || !isPlainObject(meta) || expected === undefined) return undefined
  const envelope: Record<string, unknown> = {}
  let carried = 0
  for (const key of ENVELOPE_META_KEYS) {
    if (!(key in meta)) continue
    envelope[key] = meta[key]
    carried++
  }
  if (carried === 0 || !sameJson(envelope, expected)) return undefined
  return { envelope, rest: restOfMeta(meta) }
}

/**
 * Whether `value` (parsed JSON, as a request's `_meta` is) has the JSON text
 * of `known` (the validated envelope's key, parsed): the same keys in the
 * same order, the same items, equal numbers and strings. What comparing
 * `JSON.stringify(value)` with the key answers, without writing the text;
 * it descends no deeper than `known`.
 */
function sameJson(value: unknown, known: unknown): boolean {
  if (known === null || typeof known !== 'object') return value === known
  if (value === null || typeof value !== 'object' || Array.isArray(value) !== Array.isArray(known)) return false
  if (Array.isArray(known)) {
    const items = value as unknown[]
    if (items.length !== known.length) return false
    for (let i = 0; i < known.length; i++) if (!sameJson(items[i], known[i])) return false
    return true
  }
  const keys = Object.keys(value)
  const knownKeys = Object.keys(known)
  if (keys.length !== knownKeys.length) return false
  for (let i = 0; i < knownKeys.length; i++) {
    const key = knownKeys[i]!
    if (keys[i] !== key) return false
    if (!sameJson((value as Record<string, unknown>)[key], (known as Record<string, unknown>)[key])) return false
  }
  return true
}

/**
 * `{ ...meta }` less the envelope keys, undefined when nothing is left;
 * built key by key rather than copied and then `delete`d (which leaves a
 * slow dictionary object), except for an own `__proto__` key (JSON.parse
 * makes one), which only a copy keeps as a property.
 */
function restOfMeta(meta: Record<string, unknown>): Record<string, unknown> | undefined {
  let rest: Record<string, unknown> | undefined
  for (const key of Object.keys(meta)) {
    if (ENVELOPE_KEYS.has(key)) continue
    if (key === '__proto__') {
      const copy: Record<string, unknown> = { ...meta }
      for (const envelopeKey of ENVELOPE_META_KEYS) delete copy[envelopeKey]
      return copy
    }
    rest ??= {}
    rest[key] = meta[key]
  }
  return rest
}

const ENVELOPE_KEYS: ReadonlySet<string> = new Set(ENVELOPE_META_KEYS)

/** What a response that is not sent (closed channel, intercepted) resolves to. */
const SENT: Promise<void> = Promise.resolve()

/** The parts of the SDK's serveStdio channel (`StdioConnectionChannel`) that its `send` uses, read at runtime. */
interface ChannelInternals {
  _closed?: unknown
  _settle?: (id: unknown) => void
  _outboundIntercept?: (message: JSONRPCMessage) => unknown
  _wire?: Transport
}

/**
 * How the fast path hands its response to request `id` to the session's channel. The SDK's
 * serveStdio channel (every pinned session: stdio, the local API socket,
 * `/mcp+p2p`) first asks whether the message is a result or an error
 * response (two zod parses of the whole message) to mark its request
 * answered; this path built the response, so it marks it itself and does
 * what the channel's `send` does next: nothing once closed, the outbound
 * interceptor, then the wire. Any other channel gets `send`.
 */
export function responder(channel: Transport, id: JSONRPCRequest['id']): (message: JSONRPCMessage) => Promise<void> {
  const internals = channel as unknown as ChannelInternals
  const wire = internals._wire
  const settle = internals._settle
  if (typeof settle !== 'function' || typeof wire?.send !== 'function' || typeof internals._closed !== 'boolean') {
    return (message) => channel.send(message)
  }
  return (message) => {
    settle.call(channel, id)
    if (internals._closed === true || internals._outboundIntercept?.(message) === 'handled') return SENT
    return wire.send(message)
  }
}

/**
 * The interceptor for one pinned session (either era): `validated()` is the
 * key of the last envelope the SDK validated on it (see `envelopeKey`);
 * `onCall` is the tools/call handler the front registered on `server`
 * (with it, the request is parsed once: see `validatedOnce`).
 */
export function fastToolCalls(
  server: Server,
  validated: () => string | undefined,
  onCall?: ToolCallHandler
): RequestInterceptor {
  const internals = server as unknown as ServerInternals
  const once = validatedOnce(server, onCall)
  // The last validated envelope's key, parsed once (liftEnvelope compares envelopes with it).
  let knownKey: string | undefined
  let known: unknown
  const validatedEnvelope = (): unknown => {
    const key = validated()
    if (key !== knownKey) {
      knownKey = key
      known = key === undefined ? undefined : JSON.parse(key)
    }
    return known
  }
  return (request) => {
    if (request.method !== 'tools/call') return undefined
    const params = request.params as unknown
    if (!isPlainObject(params) || 'requestState' in params || 'inputResponses' in params) return undefined
    const codec = internals._negotiatedWireCodec?.()
    const registered = internals._requestHandlers?.get('tools/call')
    const checking =
      codec?.validateRequest != null && codec.validateResult != null ? (codec as CheckingCodec) : undefined
    const handler: RequestHandler | undefined =
      registered != null && once != null && checking != null
        ? (handedRequest, handedCtx) => once(handedRequest, handedCtx, checking) as Promise<Record<string, unknown>>
        : registered
    const channel = internals.transport
    const notifyVia = internals._notificationViaCodec
    const outboundCodec = internals._resolveOutboundCodec
    const assertInEra = internals._assertOutboundRequestInEra
    const controllers = internals._requestHandlerAbortControllers
    if (
      handler == null ||
      channel == null ||
      codec == null ||
      internals._negotiatedProtocolVersion === undefined ||
      notifyVia == null ||
      outboundCodec == null ||
      assertInEra == null ||
      controllers == null ||
      controllers.has(request.id) ||
      internals.buildContext == null ||
      internals._outboundServerInfo == null
    ) {
      return undefined
    }
    const lifted = liftEnvelope(params._meta, codec.era, codec.era === MODERN_ERA ? validatedEnvelope() : undefined)
    if (lifted === undefined) return undefined
    const { envelope, rest } = lifted
    if (envelope !== undefined) fastEnvelopes.add(envelope)
    if (log.enabled) log('tools/call %s on the fast path', request.id)
    // The request as the SDK hands it on: the envelope lifted out of _meta (2025: unchanged).
    let handed = request
    if (envelope !== undefined) {
      const liftedParams: Record<string, unknown> = { ...params }
      if (rest !== undefined) liftedParams._meta = rest
      else delete liftedParams._meta
      handed = { ...request, params: liftedParams } as JSONRPCRequest
    }
    const requestId = request.id
    const controller = new AbortController()
    controllers.set(requestId, controller)
    const onerror = (error: Error): void => internals._onerror?.(error)
    const notify = async (
      notification: { method: string; params?: Record<string, unknown> },
      options?: Record<string, unknown>
    ): Promise<void> =>
      notifyVia.call(server, outboundCodec.call(server, notification.method), notification, {
        ...options,
        relatedRequestId: request.id
      })
    // ctx.mcpReq.send as the SDK builds it: the era check, then the request related to this one.
    const send = async (
      outbound: { method: string; params?: Record<string, unknown> },
      schemaOrOptions?: unknown,
      maybeOptions?: Record<string, unknown>
    ): Promise<unknown> => {
      assertInEra.call(server, outboundCodec.call(server, outbound.method), outbound.method)
      const request = server.request.bind(server) as (...args: unknown[]) => Promise<unknown>
      return isStandardSchema(schemaOrOptions)
        ? request(outbound, schemaOrOptions, { ...maybeOptions, relatedRequestId: requestId })
        : request(outbound, { ...(schemaOrOptions as Record<string, unknown>), relatedRequestId: requestId })
    }
    const ctx = internals.buildContext.call(
      server,
      {
        sessionId: channel.sessionId,
        mcpReq: {
          id: request.id,
          method: request.method,
          _meta: rest,
          ...(envelope !== undefined && { envelope }),
          requestState: noRequestState,
          signal: controller.signal,
          send,
          notify
        },
        http: undefined
      },
      undefined
    )
    const respond = responder(channel, request.id)
    const release = (): void => {
      if (controllers.get(requestId) === controller) controllers.delete(requestId)
    }
    const answer = (result: Record<string, unknown>): Promise<void> | undefined => {
      if (controller.signal.aborted) return undefined
      let encoded: Record<string, unknown>
      try {
        encoded = codec.encodeResult('tools/call', result, internals._outboundServerInfo?.call(server))
      } catch (error) {
        onerror(new Error(`Failed to encode result for tools/call: ${String(error)}`))
        return respond({
          jsonrpc: '2.0',
          id: request.id,
          error: { code: ProtocolErrorCode.InternalError, message: 'Internal error' }
        })
      }
      return respond({ result: encoded, jsonrpc: '2.0', id: request.id } as JSONRPCMessage)
    }
    const answerError = (error: { code?: unknown; message?: string; data?: unknown }): Promise<void> | undefined => {
      if (controller.signal.aborted) return undefined
      const thrown = Number.isSafeInteger(error.code) ? (error.code as number) : ProtocolErrorCode.InternalError
      return respond({
        jsonrpc: '2.0',
        id: request.id,
        error: {
          code: codec.encodeErrorCode(thrown),
          message: error.message ?? 'Internal error',
          ...(error.data !== undefined && { data: error.data })
        }
      } as JSONRPCMessage)
    }
    // Plain callbacks, one chain (was async callbacks, catch and finally): three promises per call instead of
    // about ten. The handler starts at once (its controller is registered above); a synchronous throw is its
    // rejection, never the interceptor's (which would leave the request to the SDK as well).
    let handled: Promise<Record<string, unknown>>
    try {
      handled = handler(handed, ctx)
    } catch (error) {
      handled = Promise.reject(error)
    }
    handled.then(answer, answerError).then(release, (error: unknown) => {
      onerror(new Error(`Failed to send response: ${String(error)}`))
      release()
    })
    return controller
  }
}
