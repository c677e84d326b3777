import {
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  ProtocolError,
  SdkError,
  SdkErrorCode
} from '@modelcontextprotocol/server'
import { ChurnMap } from '../util/churn-map.js'

/** Ids of direct requests: strings, so they never meet the SDK's numeric ids. */
const DIRECT_ID_PREFIX = 'd'

/** A request sent with call(): its id, its response, and a way to stop waiting for it. */
export interface OutboundCall {
  readonly id: string
  /**
   * The result. Rejects with a ProtocolError on an error response, with
   * SdkError ConnectionClosed when the stream closes first, or with the
   * error of the send.
   */
  readonly response: Promise<Record<string, unknown>>
  /**
   * Stops waiting: a later response or progress of the request is dropped,
   * the response never settles. True when it was still waiting.
   */
  forget(): boolean
}

interface Waiting {
  resolve: (result: Record<string, unknown>) => void
  reject: (error: Error) => void
  /** Hears the request's progress notifications as they came. */
  onnotification?: (notification: JSONRPCNotification) => void
}

/**
 * The requests one `/mcp+p2p` stream sends outside the MCP SDK (the mesh's
 * tools/call hot path): their ids, the responses and progress that belong
 * to them, and their end when the stream closes. The SDK client on the same
 * stream keeps its own (numeric) ids; what is not a direct call's is left to it.
 */
export class DirectCalls {
  readonly #send: (message: JSONRPCMessage) => Promise<void>
  readonly #waiting = new ChurnMap<string, Waiting>()
  #nextId = 0

  /** `send` writes one message on the stream (not through any wrapper of the transport's send()). */
  constructor(send: (message: JSONRPCMessage) => Promise<void>) {
    this.#send = send
  }

  /**
   * Sends the request `build` makes around its id and hands back its
   * response; the caller owns timeouts, abort and cancellation. Progress
   * notifications carrying the id as their token go to `onnotification`.
   */
  call(
    build: (id: string) => JSONRPCRequest,
    onnotification?: (notification: JSONRPCNotification) => void
  ): OutboundCall {
    const id = `${DIRECT_ID_PREFIX}${++this.#nextId}`
    const message = build(id)
    const { promise, resolve, reject } = Promise.withResolvers<Record<string, unknown>>()
    this.#waiting.set(id, { resolve, reject, onnotification })
    this.#send(message).catch((err: unknown) => {
      if (this.#waiting.delete(id)) reject(err instanceof Error ? err : new Error(String(err)))
    })
    return { id, response: promise, forget: () => this.#waiting.delete(id) }
  }

  /** Takes a response or progress notification of a direct call (true); anything else is the SDK's. */
  take(message: JSONRPCMessage): boolean {
    if ('method' in message) {
      if (message.method !== 'notifications/progress') return false
      const token = (message.params as { progressToken?: unknown } | undefined)?.progressToken
      const waiting = typeof token === 'string' ? this.#waiting.get(token) : undefined
      if (waiting == null) return false
      waiting.onnotification?.(message as JSONRPCNotification)
      return true
    }
    const id = (message as { id?: unknown }).id
    if (typeof id !== 'string' || !id.startsWith(DIRECT_ID_PREFIX)) return false
    const waiting = this.#waiting.get(id)
    if (waiting == null) return true // answered after its caller gave up on it
    this.#waiting.delete(id)
    if ('result' in message) waiting.resolve(message.result as Record<string, unknown>)
    else {
      const { error } = message as { error: { code: number; message: string; data?: unknown } }
      waiting.reject(ProtocolError.fromError(error.code, error.message, error.data))
    }
    return true
  }

  /** The stream closed: every call still waiting rejects with the SDK's ConnectionClosed. */
  closeAll(): void {
    const waiting = [...this.#waiting.values()]
    this.#waiting.clear()
    for (const call of waiting) call.reject(new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed'))
  }
}
