import { PassThrough, Writable } from 'node:stream'
import type { JSONRPCMessage } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { StreamServerTransport } from '../../src/mcp/stream-server-transport.js'

/** A sink recording each write system call it would make (one per `_write`/`_writev`). */
function recordingSink(): { sink: Writable; writes: string[][] } {
  const writes: string[][] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writes.push([chunk.toString()])
      callback()
    },
    writev(chunks, callback) {
      writes.push(chunks.map(({ chunk }) => (chunk as Buffer).toString()))
      callback()
    }
  })
  return { sink, writes }
}

const response = (id: number): JSONRPCMessage => ({ jsonrpc: '2.0', id, result: { n: id } })

describe('StreamServerTransport', () => {
  it('sends the first message of an event at once and those that follow it in one write, each on its own line', async () => {
    const { sink, writes } = recordingSink()
    const transport = new StreamServerTransport(new PassThrough(), sink)
    await transport.start()
    await Promise.all([1, 2, 3, 4].map(async (id) => transport.send(response(id))))
    await new Promise((resolve) => setImmediate(resolve))
    // The first at once, the three that followed it together: one write each, of one chunk.
    expect(writes.map((chunks) => chunks.length)).toEqual([1, 1])
    expect(writes[1]![0]).toBe(`${[2, 3, 4].map((id) => JSON.stringify(response(id))).join('\n')}\n`)
    expect(writes.flat().join('')).toBe(`${[1, 2, 3, 4].map((id) => JSON.stringify(response(id))).join('\n')}\n`)
    // A later event: its own write.
    await transport.send(response(5))
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toHaveLength(3)
    await transport.close()
  })

  it('reads line-framed messages split across chunks and skips lines that are not JSON', async () => {
    const input = new PassThrough()
    const transport = new StreamServerTransport(input, recordingSink().sink)
    const received: JSONRPCMessage[] = []
    transport.onmessage = (message) => received.push(message)
    await transport.start()
    const line = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' })
    input.write(`${line.slice(0, 10)}`)
    input.write(`${line.slice(10)}\nnot json\n${line}\n`)
    await new Promise((resolve) => setImmediate(resolve))
    expect(received).toEqual([JSON.parse(line), JSON.parse(line)])
    await transport.close()
  })

  it('hands requests to its interceptor first: taken ones skip onmessage, a failing interceptor leaves them to it', async () => {
    const input = new PassThrough()
    const transport = new StreamServerTransport(input, recordingSink().sink)
    const received: JSONRPCMessage[] = []
    const errors: Error[] = []
    transport.onmessage = (message) => received.push(message)
    transport.onerror = (error) => errors.push(error)
    const seen: unknown[] = []
    transport.intercept((request) => {
      seen.push(request.id)
      if (request.id === 'boom') throw new Error('interceptor failed')
      return request.id === 'take' ? new AbortController() : undefined
    })
    await transport.start()
    const take = { jsonrpc: '2.0', id: 'take', method: 'tools/call', params: { name: 'echo' } }
    const leave = { jsonrpc: '2.0', id: 'leave', method: 'tools/call', params: { name: 'echo' } }
    const boom = { jsonrpc: '2.0', id: 'boom', method: 'tools/call', params: { name: 'echo' } }
    const notification = { jsonrpc: '2.0', method: 'notifications/initialized' }
    input.write(`${[take, leave, boom, notification].map((m) => JSON.stringify(m)).join('\n')}\n`)
    await new Promise((resolve) => setImmediate(resolve))
    expect(seen).toEqual(['take', 'leave', 'boom'])
    expect(received).toEqual([leave, boom, notification])
    expect(errors.map((error) => error.message)).toEqual(['interceptor failed'])
    transport.intercept(undefined)
    input.write(`${JSON.stringify(take)}\n`)
    await new Promise((resolve) => setImmediate(resolve))
    expect(received.at(-1)).toEqual(take)
    await transport.close()
  })

  it('writes a batch at once when it reaches the output buffer size, and a send into a full output waits for it to drain', async () => {
    const callbacks: Array<() => void> = []
    const chunks: string[] = []
    const sink = new Writable({
      highWaterMark: 64,
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString())
        callbacks.push(callback)
      }
    })
    const transport = new StreamServerTransport(new PassThrough(), sink)
    await transport.start()
    const settled: number[] = []
    // Each line is 41 characters: 1 leaves at once; 2 opens the batch; 3 takes it to 82 (>= 64), so 2 and 3
    // leave then and fill the output; 4 goes into a full output and waits, its line left on the next tick.
    const sends = [1, 2, 3, 4].map(async (id) => transport.send(response(id)).then(() => settled.push(id)))
    await new Promise((resolve) => setImmediate(resolve))
    expect(settled).toEqual([1, 2])
    while (settled.length < 4) {
      callbacks.shift()?.()
      await new Promise((resolve) => setImmediate(resolve))
    }
    await Promise.all(sends)
    expect(chunks.join('')).toBe(`${[1, 2, 3, 4].map((id) => JSON.stringify(response(id))).join('\n')}\n`)
    expect(chunks).toHaveLength(3)
    await transport.close()
  })

  it('waits for the output to drain when it is full, and closes when the input ends', async () => {
    let release: (() => void) | undefined
    const sink = new Writable({
      highWaterMark: 16,
      write(_chunk, _encoding, callback) {
        release = callback
      }
    })
    const input = new PassThrough()
    const transport = new StreamServerTransport(input, sink)
    const closed = new Promise<void>((resolve) => {
      transport.onclose = resolve
    })
    await transport.start()
    let sent = false
    const sending = transport.send(response(1)).then(() => {
      sent = true
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(sent).toBe(false)
    release?.()
    await sending
    expect(sent).toBe(true)
    input.end()
    await closed
    await expect(transport.send(response(2))).rejects.toThrow(/closed/)
  })
})
