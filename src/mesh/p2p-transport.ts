import type { Stream } from '@libp2p/interface'
import { type JSONRPCMessage, parseJSONRPCMessage, type Transport } from '@modelcontextprotocol/server'
import type { Uint8ArrayList } from 'uint8arraylist'
import { withTraceContext } from '../tracing/context.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { FrameDecoder, encodeFrame } from './frame.js'

const log = meshLogger('mcp+p2p')
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Frames that are well-formed but carry bad JSON tolerated per stream before it is closed. */
export const MAX_BAD_MESSAGES_PER_STREAM = 16

export type ProtocolViolation = 'oversized-frame' | 'malformed-frame' | 'invalid-json' | 'invalid-jsonrpc'

export interface P2PStreamTransportInit {
  maxFrameBytes: number
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
 * that keeps sending them is aborted.
 */
export class P2PStreamTransport implements Transport {
  readonly stream: Stream
  readonly #decoder: FrameDecoder
  readonly #init: P2PStreamTransportInit
  #badMessages = 0
  #closed = false
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

  async start(): Promise<void> {
    this.stream.addEventListener('message', (event) => this.#onData(event.data))
    this.stream.addEventListener('close', () => this.#finish(), { once: true })
    if (this.stream.status !== 'open') this.#finish()
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) throw new Error('stream is closed')
    // Outbound tools/call requests carry the caller's W3C trace context in _meta.
    const frame = encodeFrame(JSON.stringify(withTraceContext(message)), this.#init.maxFrameBytes)
    if (!this.stream.send(frame)) await this.stream.onDrain()
  }

  async close(): Promise<void> {
    if (this.#closed) return
    try {
      await this.stream.close({ signal: AbortSignal.timeout(1_000) })
    } catch {
      this.stream.abort(new Error('close timed out'))
    }
    this.#finish()
  }

  #onData(data: Uint8Array | Uint8ArrayList): void {
    if (this.#closed) return
    let frames: Uint8Array[]
    try {
      frames = this.#decoder.push(data)
    } catch (err) {
      const kind = (err as Error).name === 'FrameTooLargeError' ? 'oversized-frame' : 'malformed-frame'
      this.#violation(kind, errorMessage(err))
      this.stream.abort(err as Error)
      this.#finish()
      return
    }
    for (const frame of frames) {
      const message = this.#parse(frame)
      if (message != null) this.onmessage?.(message)
      if (this.#closed) return
    }
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
      return parseJSONRPCMessage(value)
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
    this.onclose?.()
  }
}
