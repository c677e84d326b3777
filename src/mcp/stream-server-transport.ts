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
 * together in one write on the next tick, after the event's promise jobs.
 * With 64 calls in flight that is two write system calls, and two wake-ups
 * of the reader, per batch of answers instead of one per answer; a single
 * answer leaves as it did with the SDK's transport. The batch is one string
 * (its lines joined), not a corked stream's list of chunks: one `write`, no
 * per-message write request, no `writev` of strings to encode one by one.
 * A request can be taken over before the SDK sees it (`intercept`: the
 * tools/call fast path).
 */
export class StreamServerTransport implements Transport {
  readonly #input: Readable
  readonly #output: Writable
  readonly #buffer = new LineReader()
  #started = false
  #closed = false
  /** The lines sent after the first one of this event (undefined: no batch is open; the next send leaves at once). */
  #batch: string | undefined
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
    const line = serializeMessage(message)
    if (this.#batch !== undefined) {
      this.#batch += line
      const output = this.#output
      // A batch as large as the output's buffer leaves now; a send into a full output waits for it, as a write would.
      if (this.#batch.length >= output.writableHighWaterMark) {
        const batch = this.#batch
        this.#batch = ''
        if (output.write(batch)) return
      } else if (!output.writableNeedDrain) return
    } else {
      // The first message of a batch leaves at once; those that follow while this event is handled wait for it.
      this.#batch = ''
      process.nextTick(this.#flush)
      if (this.#output.write(line)) return
    }
    await this.#drained()
  }

  /** Resolves once the output drained (it refused more), rejects when it fails or closes first. */
  #drained(): Promise<void> {
    const output = this.#output
    return new Promise<void>((resolve, reject) => {
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

  /** Writes the batch (the messages sent after the first of an event), if any; a send waits for the output, not this. */
  readonly #flush = (): void => {
    const batch = this.#batch
    this.#batch = undefined
    if (batch !== undefined && batch !== '') this.#output.write(batch)
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
