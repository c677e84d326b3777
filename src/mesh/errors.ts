import { ProtocolError } from '@modelcontextprotocol/server'
import { MeshError } from '../util/errors.js'
import { ERROR_CODE_BUSY, ERROR_CODE_DENIED, ERROR_CODE_RATE_LIMITED } from './constants.js'

export class FrameTooLargeError extends MeshError {
  static override readonly code = 'ERR_FRAME_TOO_LARGE'
  constructor(
    readonly length: number,
    readonly limit: number
  ) {
    super(`frame of ${length} bytes exceeds the ${limit}-byte limit`)
  }
}

export class MalformedFrameError extends MeshError {
  static override readonly code = 'ERR_MALFORMED_FRAME'
}

export class NoProviderError extends MeshError {
  static override readonly code = 'ERR_NO_PROVIDER'
  constructor(readonly tool: string) {
    super(`no peer offers tool "${tool}"`)
  }
}

export class PeerUnreachableError extends MeshError {
  static override readonly code = 'ERR_PEER_UNREACHABLE'
  constructor(
    readonly peer: string,
    reason: string,
    options?: ErrorOptions
  ) {
    super(`peer ${peer} is unreachable: ${reason}`, options)
  }
}

export class PeerDeniedError extends MeshError {
  static override readonly code = 'ERR_PEER_DENIED'
  constructor(
    readonly peer: string,
    reason: string
  ) {
    super(`denied by peer ${peer}: ${reason}`)
  }
}

/** This node's own policy (config `trust.sendTo`) forbids sending calls or tasks to the peer. */
export class OutboundDeniedError extends MeshError {
  static override readonly code = 'ERR_OUTBOUND_DENIED'
  constructor(readonly peer: string) {
    super(`not sending to peer ${peer}: it is not in trust.sendTo`)
  }
}

export class RemoteToolError extends MeshError {
  static override readonly code = 'ERR_REMOTE_TOOL'
  constructor(
    readonly peer: string,
    readonly tool: string,
    reason: string
  ) {
    super(`tool "${tool}" failed on peer ${peer}: ${reason}`)
  }
}

export class MeshCallTimeoutError extends MeshError {
  static override readonly code = 'ERR_MESH_CALL_TIMEOUT'
  constructor(
    readonly tool: string,
    readonly timeoutMs: number,
    readonly peer?: string
  ) {
    super(`tool "${tool}" timed out after ${timeoutMs} ms${peer != null ? ` (on peer ${peer})` : ''}`)
  }
}

export class InvalidAdvertError extends MeshError {
  static override readonly code = 'ERR_INVALID_ADVERT'
}

/** The mesh's state was read before `start()` (or after `stop()`). */
export class MeshNotStartedError extends MeshError {
  static override readonly code = 'ERR_MESH_NOT_STARTED'
  constructor() {
    super('mesh is not started')
  }
}

/** How a peer refused a request, read from the mesh error code of a ProtocolError. */
export type PeerRefusal = 'denied' | 'busy' | 'rate-limited'

/**
 * Classifies an error from a peer: `denied` (it will not run this for us),
 * `busy` or `rate-limited` (try later or elsewhere), or undefined for any
 * other failure. One place reads the mesh codes, for the dispatcher and the queue.
 */
export function peerRefusal(err: unknown): PeerRefusal | undefined {
  if (!(err instanceof ProtocolError)) return undefined
  if (err.code === ERROR_CODE_DENIED) return 'denied'
  if (err.code === ERROR_CODE_BUSY) return 'busy'
  if (err.code === ERROR_CODE_RATE_LIMITED) return 'rate-limited'
  return undefined
}
