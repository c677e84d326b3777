import { HTTP_HOST } from './constants.js'

/**
 * The checks every Streamable HTTP request passes before the MCP layer sees
 * it: pure functions of the request's headers and body, so they are tested on
 * their own. The transport spec asks servers on localhost to validate
 * `Origin` (DNS rebinding from a web page) and to authenticate callers.
 */

const LOOPBACK_ORIGIN = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i

/** An absent `Origin` (non-browser clients) is fine; a present one must be a loopback origin. */
export function originAllowed(origin: string | undefined): boolean {
  return origin == null || LOOPBACK_ORIGIN.test(origin)
}

/** `Host` values served on `port`: DNS-rebinding protection (a rebound name carries its own Host). */
export function allowedHosts(port: number): string[] {
  return [`${HTTP_HOST}:${port}`, `localhost:${port}`, HTTP_HOST, 'localhost']
}

export function hostAllowed(host: string | undefined, port: number): boolean {
  return host != null && allowedHosts(port).includes(host.toLowerCase())
}

type RpcId = string | number | null

/** The body as JSON, or undefined when it is empty or not JSON. */
export function parseBody(body: Uint8Array | undefined): unknown {
  if (body == null || body.byteLength === 0) return undefined
  try {
    return JSON.parse(new TextDecoder().decode(body)) as unknown
  } catch {
    return undefined
  }
}

/** The JSON-RPC id of a parsed single request, for error replies; `null` when there is none or it is a batch. */
export function idOf(message: unknown): RpcId {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return null
  const id = (message as { id?: unknown }).id
  return typeof id === 'string' || typeof id === 'number' ? id : null
}

/** The JSON-RPC id of a single request body, for error replies; `null` when there is none or it is a batch. */
export function requestId(body: Uint8Array | undefined): RpcId {
  return idOf(parseBody(body))
}

/** The body is (or a batch holds) an `initialize` request: the only message that may open a session. */
export function isInitializeBody(body: Uint8Array | undefined): boolean {
  return isInitializeMessage(parseBody(body))
}

/** `isInitializeBody` of an already parsed body. */
export function isInitializeMessage(message: unknown): boolean {
  const messages = Array.isArray(message) ? message : [message]
  return messages.some(
    (m) => typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'initialize'
  )
}

/** A JSON-RPC error response body. */
export function rpcErrorBody(code: number, message: string, id: RpcId = null): string {
  return JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id })
}
