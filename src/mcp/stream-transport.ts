import type { Readable, Writable } from 'node:stream'
import { type JSONRPCMessage, ReadBuffer, serializeMessage, type Transport } from '@modelcontextprotocol/client'

/**
 * Client-side MCP transport over any duplex byte stream using the stdio
 * framing (one JSON-RPC message per line); used for the local API socket.
 */
export class StreamClientTransport implements Transport {
  readonly #input: Readable
  readonly #output: Writable
  readonly #buffer = new ReadBuffer()
  #closed = false
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void

  constructor(input: Readable, output: Writable) {
    this.#input = input
    this.#output = output
  }

  async start(): Promise<void> {
    this.#input.on('data', (chunk: Buffer) => {
      this.#buffer.append(chunk)
      for (;;) {
        let message: JSONRPCMessage | null
        try {
          message = this.#buffer.readMessage()
        } catch (err) {
          this.onerror?.(err as Error)
          continue
        }
        if (message == null) break
        this.onmessage?.(message)
      }
    })
    this.#input.on('error', (err: Error) => this.onerror?.(err))
    this.#input.on('close', () => this.#finish())
    this.#input.on('end', () => this.#finish())
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) throw new Error('transport closed')
    const ok = this.#output.write(serializeMessage(message))
    if (!ok) await new Promise<void>((resolve) => this.#output.once('drain', resolve))
  }

  async close(): Promise<void> {
    this.#output.end()
    this.#input.destroy()
    this.#finish()
  }

  #finish(): void {
    if (this.#closed) return
    this.#closed = true
    this.#buffer.clear()
    this.onclose?.()
  }
}
