import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server'
import { MeshError } from '../util/errors.js'

/** `<home>/http.token` exists but does not hold a token. */
export class InvalidHttpTokenError extends MeshError {
  static override readonly code = 'ERR_INVALID_HTTP_TOKEN'
  constructor(readonly path: string) {
    super(`${path} does not hold a valid token (43+ base64url characters); delete it to generate a new one`)
  }
}

/**
 * A request whose own envelope is malformed (e.g. a bad `_meta` field the
 * node acts on): a JSON-RPC protocol error (-32602) per spec 2025-11-25,
 * not a tool result, unlike bad tool arguments.
 */
export class MalformedRequestError extends ProtocolError {
  constructor(message: string) {
    super(ProtocolErrorCode.InvalidParams, message)
    this.name = 'MalformedRequestError'
  }
}
