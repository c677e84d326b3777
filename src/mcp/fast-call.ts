import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  type JSONRPCMessage,
  type JSONRPCRequest,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  ProtocolErrorCode,
  type Server,
  type ServerContext,
  SdkError,
  SdkErrorCode,
  type Transport
} from '@modelcontextprotocol/server'
import { meshLogger } from '../util/logger.js'

const log = meshLogger('mcp:fast-call')

/**
 * The tools/call fast path of a peer's `/mcp+p2p` session pinned to MCP
 * 2026-07-28: the SDK's `_onrequest` minus what a repeated call provably does
 * not need. What runs is the SDK's own: the registered tools/call handler
 * (request validation, the input_required seam, result validation), the
 * session's wire codec (`encodeResult`: resultType, serverInfo `_meta`;
 * `encodeErrorCode`), `buildContext` (the per-request log level), and
 * notifications and the response go out through the session's transport
 * (serveStdio's channel). What is skipped: serveStdio's per-message routing
 * (the session is pinned), the SDK's JSON-RPC shape checks (the `/mcp+p2p`
 * transport checked the message), and the `_meta` envelope's schema parse,
 * when the envelope is identical to one the SDK validated on this session.
 *
 * Anything else goes to the SDK: another method, a retry carrying
 * `requestState` or `inputResponses`, a new envelope, an SDK whose
 * internals are not the ones this code reads.
 */

/** The `_meta` keys of the per-request envelope, in the order the SDK lifts them. */
const ENVELOPE_KEYS = [
  PROTOCOL_VERSION_META_KEY,
  CLIENT_INFO_META_KEY,
  CLIENT_CAPABILITIES_META_KEY,
  LOG_LEVEL_META_KEY
] as const

const MODERN_ERA = '2026-07-28'

/** Envelope objects built by the fast path (the handler does not record them again). */
const fastEnvelopes = new WeakSet<object>()

interface WireCodec {
  era: string
  encodeResult(method: string, result: Record<string, unknown>, serverInfo: unknown): Record<string, unknown>
  encodeErrorCode(code: number): number
}

type RequestHandler = (request: JSONRPCRequest, ctx: ServerContext) => Promise<Record<string, unknown>>

/** The parts of the SDK's Server (Protocol) that `_onrequest` uses, read at runtime. */
interface ServerInternals {
  readonly transport?: Transport
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
}

/** A transport whose requests can be taken over (P2PStreamTransport). */
export interface InterceptingTransport {
  intercept(interceptor: ((request: JSONRPCRequest) => AbortController | undefined) | undefined): void
}

export function canIntercept(transport: Transport): transport is Transport & InterceptingTransport {
  return typeof (transport as Partial<InterceptingTransport>).intercept === 'function'
}

/** The key the fast path compares envelopes by (the SDK validated the one it recorded). */
export function envelopeKey(envelope: Record<string, unknown>): string | undefined {
  return fastEnvelopes.has(envelope) ? undefined : JSON.stringify(envelope)
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * The interceptor for one pinned 2026-07-28 session: `validated()` is the
 * key of the last envelope the SDK validated on it (see `envelopeKey`).
 */
export function fastToolCalls(
  server: Server,
  validated: () => string | undefined
): (request: JSONRPCRequest) => AbortController | undefined {
  const internals = server as unknown as ServerInternals
  return (request) => {
    if (request.method !== 'tools/call') return undefined
    const params = request.params as unknown
    if (!isPlainObject(params) || 'requestState' in params || 'inputResponses' in params) return undefined
    const meta = params._meta
    const expected = validated()
    if (!isPlainObject(meta) || expected === undefined) return undefined
    const envelope: Record<string, unknown> = {}
    const rest: Record<string, unknown> = { ...meta }
    let carried = 0
    for (const key of ENVELOPE_KEYS) {
      if (!(key in meta)) continue
      envelope[key] = meta[key]
      delete rest[key]
      carried++
    }
    if (carried === 0 || JSON.stringify(envelope) !== expected) return undefined
    const handler = internals._requestHandlers?.get('tools/call')
    const channel = internals.transport
    const codec = internals._negotiatedWireCodec?.()
    const notifyVia = internals._notificationViaCodec
    const outboundCodec = internals._resolveOutboundCodec
    if (
      handler == null ||
      channel == null ||
      codec?.era !== MODERN_ERA ||
      notifyVia == null ||
      outboundCodec == null ||
      internals.buildContext == null ||
      internals._outboundServerInfo == null
    ) {
      return undefined
    }
    fastEnvelopes.add(envelope)
    log('tools/call %s on the fast path', request.id)
    // The request as the SDK hands it on: the envelope lifted out of _meta.
    const liftedParams: Record<string, unknown> = { ...params }
    if (Object.keys(rest).length > 0) liftedParams._meta = rest
    else delete liftedParams._meta
    const lifted = { ...request, params: liftedParams } as JSONRPCRequest
    const controller = new AbortController()
    const onerror = (error: Error): void => internals._onerror?.(error)
    const notify = async (
      notification: { method: string; params?: Record<string, unknown> },
      options?: Record<string, unknown>
    ): Promise<void> =>
      notifyVia.call(server, outboundCodec.call(server, notification.method), notification, {
        ...options,
        relatedRequestId: request.id
      })
    const ctx = internals.buildContext.call(
      server,
      {
        sessionId: channel.sessionId,
        mcpReq: {
          id: request.id,
          method: request.method,
          _meta: liftedParams._meta,
          envelope,
          requestState: () => undefined,
          signal: controller.signal,
          // Server-to-client requests of a call go through input_required rounds, never ctx.mcpReq.send.
          send: async () => {
            throw new SdkError(
              SdkErrorCode.NotConnected,
              'ctx.mcpReq.send is not available on the tools/call fast path'
            )
          },
          notify
        },
        http: undefined
      },
      undefined
    )
    const respond = async (message: JSONRPCMessage): Promise<void> => channel.send(message)
    Promise.resolve()
      .then(async () => handler(lifted, ctx))
      .then(
        async (result) => {
          if (controller.signal.aborted) return
          let encoded: Record<string, unknown>
          try {
            encoded = codec.encodeResult('tools/call', result, internals._outboundServerInfo?.call(server))
          } catch (error) {
            onerror(new Error(`Failed to encode result for tools/call: ${String(error)}`))
            await respond({
              jsonrpc: '2.0',
              id: request.id,
              error: { code: ProtocolErrorCode.InternalError, message: 'Internal error' }
            })
            return
          }
          await respond({ result: encoded, jsonrpc: '2.0', id: request.id } as JSONRPCMessage)
        },
        async (error: { code?: unknown; message?: string; data?: unknown }) => {
          if (controller.signal.aborted) return
          const thrown = Number.isSafeInteger(error.code) ? (error.code as number) : ProtocolErrorCode.InternalError
          await respond({
            jsonrpc: '2.0',
            id: request.id,
            error: {
              code: codec.encodeErrorCode(thrown),
              message: error.message ?? 'Internal error',
              ...(error.data !== undefined && { data: error.data })
            }
          } as JSONRPCMessage)
        }
      )
      .catch((error: unknown) => onerror(new Error(`Failed to send response: ${String(error)}`)))
    return controller
  }
}
