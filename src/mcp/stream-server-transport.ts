import type { Readable, Writable } from 'node:stream'
import {
  type JSONRPCMessage,
  type JSONRPCRequest,
  serializeMessage,
  type Transport
} from '@modelcontextprotocol/server'
import type { RequestInterceptor } from './fast-call.js'
import { LineReader } from './line-reader.js'

/**
 * Server-side MCP transport over a byte stream with the stdio framing (one
 * JSON-RPC message per line): the node's stdio and its local API socket.
 * It reads as the SDK's `StdioServerTransport` does, but coalesces its
 * writes: the first message sent while one event is handled (one read of
 * the input, one timer) leaves at once, and those that follow it leave
 * together in one `writev` (the output is corked after the first and
 * uncorked on the next tick, after the event's promise jobs). With 64 calls
 * in flight that is two write system calls, and two wake-ups of the reader,
 * per batch of answers instead of one per answer; a single answer leaves as
 * it did with the SDK's transport. A request can be taken over before the
 * SDK sees it (`intercept`: the tools/call fast path).
 */
export class StreamServerTransport implements Transport {
  readonly #input: Readable
  readonly #output: Writable
  readonly #buffer = new LineReader()
  #started = false
  #closed = false
  #corked = false
  #interceptor?: RequestInterceptor
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void

  constructor(input: Readable, output: Writable) {
    this.#input = input
    this.#output = output
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error('StreamServerTransport already started')
    this.#started = true
    if (this.#input.readableEnded || this.#input.destroyed) setImmediate(this.#onInputClose)
    this.#input.on('data', this.#onData)
    this.#input.on('error', this.#onInputError)
    this.#input.on('end', this.#onInputClose)
    this.#input.on('close', this.#onInputClose)
    this.#output.on('error', this.#onOutputError)
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) throw new Error('StreamServerTransport is closed')
    const output = this.#output
    let written: boolean
    if (this.#corked) written = output.write(serializeMessage(message))
    else {
      // The first message of a batch leaves at once; those that follow while this event is handled wait for it.
      written = output.write(serializeMessage(message))
      this.#corked = true
      output.cork()
      process.nextTick(this.#flush)
    }
    if (written) return
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        output.off('drain', done)
        output.off('error', done)
        output.off('close', closed)
        if (err != null) reject(err)
        else resolve()
      }
      const closed = (): void => done(new Error('the output closed'))
      output.once('drain', done)
      output.once('error', done)
      output.once('close', closed)
      // A corked stream drains only once uncorked.
      this.#flush()
    })
  }

  /** Sets the taker of the client's requests (see RequestInterceptor). */
  intercept(interceptor: RequestInterceptor | undefined): void {
    this.#interceptor = interceptor
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#flush()
    this.#input.off('data', this.#onData)
    this.#input.off('error', this.#onInputError)
    this.#input.off('end', this.#onInputClose)
    this.#input.off('close', this.#onInputClose)
    if (this.#input.listenerCount('data') === 0) this.#input.pause()
    this.#buffer.clear()
    this.onclose?.()
  }

  readonly #flush = (): void => {
    if (!this.#corked) return
    this.#corked = false
    this.#output.uncork()
  }

  readonly #onData = (chunk: Buffer): void => {
    try {
      this.#buffer.append(chunk)
    } catch (err) {
      this.onerror?.(err as Error)
      void this.close()
      return
    }
    for (;;) {
      let message: JSONRPCMessage | null
      try {
        message = this.#buffer.readMessage()
      } catch (err) {
        this.onerror?.(err as Error)
        continue
      }
      if (message == null) return
      if (this.#interceptor !== undefined && 'method' in message && 'id' in message && this.#takeOver(message)) continue
      this.onmessage?.(message)
    }
  }

  /** Whether the interceptor answers `request` (a failing interceptor leaves it to the SDK). */
  #takeOver(request: JSONRPCRequest): boolean {
    try {
      return this.#interceptor?.(request) !== undefined
    } catch (err) {
      this.onerror?.(err as Error)
      return false
    }
  }

  readonly #onInputError = (err: Error): void => {
    this.onerror?.(err)
  }

  readonly #onInputClose = (): void => {
    void this.close()
  }

  readonly #onOutputError = (err: Error): void => {
    if (this.#closed) return
    this.onerror?.(err)
    void this.close()
  }
}
