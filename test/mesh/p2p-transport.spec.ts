import type { Stream } from '@libp2p/interface'
import { streamPair } from '@libp2p/utils'
import type { JSONRPCMessage } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { encodeFrame } from '../../src/mesh/frame.js'
import { PartialFrameBudget } from '../../src/mesh/frame-budget.js'
import { P2PStreamTransport, type ProtocolViolation } from '../../src/mesh/p2p-transport.js'
import { waitFor } from '../helpers/index.js'

const MAX = 1024 * 1024

function frame(message: Record<string, unknown>): Uint8Array {
  return encodeFrame(JSON.stringify({ jsonrpc: '2.0', ...message }), MAX)
}

async function serving(
  init: { frameTimeoutMs?: number; budget?: PartialFrameBudget } = {},
  before?: (remote: Stream) => Promise<void>
): Promise<{
  remote: Stream
  transport: P2PStreamTransport
  received: JSONRPCMessage[]
  violations: ProtocolViolation[]
}> {
  const [remote, local] = await streamPair()
  await before?.(remote)
  const violations: ProtocolViolation[] = []
  const transport = new P2PStreamTransport(local, {
    maxFrameBytes: MAX,
    peer: 'p1',
    ...init,
    onViolation: (kind) => violations.push(kind)
  })
  const received: JSONRPCMessage[] = []
  transport.onmessage = (message) => received.push(message)
  await transport.start()
  return { remote, transport, received, violations }
}

describe('P2PStreamTransport half-close', () => {
  it('closes its side after answering what the remote asked before ending its write side', async () => {
    const { remote, transport, received } = await serving()
    remote.send(frame({ id: 1, method: 'ping' }))
    remote.send(frame({ id: 2, method: 'ping' }))
    await remote.close()
    await waitFor(() => received.length === 2, { message: 'two requests' })
    expect(transport.pendingRequests).toBe(2)
    await transport.send({ jsonrpc: '2.0', id: 1, result: {} })
    expect(transport.closed).toBe(false)
    await transport.send({ jsonrpc: '2.0', id: 2, result: {} })
    await waitFor(() => transport.closed, { message: 'closed after the last answer' })
    await waitFor(() => remote.status === 'closed', { message: 'stream closed on both sides' })
  })

  it('reads requests that arrived with the remote end before it started, then closes', async () => {
    const { transport, received } = await serving({}, async (remote) => {
      remote.send(frame({ id: 7, method: 'ping' }))
      await remote.close()
    })
    await waitFor(() => received.length === 1, { message: 'buffered request delivered' })
    expect(transport.closed).toBe(false)
    await transport.send({ jsonrpc: '2.0', id: 7, result: {} })
    await waitFor(() => transport.closed, { message: 'closed after the answer' })
  })

  it('counts a request the remote cancelled as answered', async () => {
    const { remote, transport, received } = await serving()
    remote.send(frame({ id: 1, method: 'ping' }))
    remote.send(frame({ method: 'notifications/cancelled', params: { requestId: 1 } }))
    await remote.close()
    await waitFor(() => received.length === 2)
    await waitFor(() => transport.closed, { message: 'closed: nothing left to answer' })
  })

  it('keeps a stream open while the remote may still write (control)', async () => {
    const { remote, transport, received } = await serving()
    remote.send(frame({ id: 1, method: 'ping' }))
    await waitFor(() => received.length === 1)
    await transport.send({ jsonrpc: '2.0', id: 1, result: {} })
    expect(transport.closed).toBe(false)
    expect(remote.status).toBe('open')
  })
})

describe('P2PStreamTransport partial frames', () => {
  it('aborts a frame not complete within the frame timeout', async () => {
    const { remote, transport, violations } = await serving({ frameTimeoutMs: 100 })
    const partial = frame({ id: 1, method: 'ping' }).subarray(0, 10)
    remote.send(partial)
    await waitFor(() => transport.closed, { message: 'aborted after the frame timeout' })
    expect(violations).toEqual(['frame-timeout'])
  })

  it('serves a frame completed in time (control)', async () => {
    const budget = new PartialFrameBudget(MAX, MAX)
    const { remote, transport, received } = await serving({ frameTimeoutMs: 5_000, budget })
    const whole = frame({ id: 1, method: 'ping' })
    remote.send(whole.subarray(0, 10))
    await waitFor(() => budget.used === 10, { message: 'first part held' })
    remote.send(whole.subarray(10))
    await waitFor(() => received.length === 1)
    expect(budget.used).toBe(0)
    expect(transport.closed).toBe(false)
  })

  it('aborts the stream that takes its peer over the partial-frame budget and frees what it held', async () => {
    const budget = new PartialFrameBudget(1_000, 10_000)
    const first = await serving({ budget })
    const second = await serving({ budget })
    const header = (length: number, body: number): Uint8Array => {
      const bytes = new Uint8Array(4 + body).fill(0x20)
      new DataView(bytes.buffer).setUint32(0, length, false)
      return bytes
    }
    first.remote.send(header(2_000, 600))
    await waitFor(() => budget.usedBy('p1') === 604)
    second.remote.send(header(2_000, 600))
    await waitFor(() => second.transport.closed, { message: 'second stream aborted' })
    expect(second.violations).toEqual(['buffer-budget'])
    expect(first.transport.closed).toBe(false)
    expect(budget.usedBy('p1')).toBe(604)
    first.transport.stream.abort(new Error('done'))
    await waitFor(() => budget.used === 0, { message: 'budget released' })
  })
})

describe('P2PStreamTransport write batching', () => {
  it('sends the first message of an event at once and those that follow it as one stream write, each its own frame', async () => {
    const { remote, transport } = await serving()
    const chunks: number[] = []
    const frames: unknown[] = []
    const { FrameDecoder } = await import('../../src/mesh/frame.js')
    const decoder = new FrameDecoder(MAX)
    remote.addEventListener('message', (event) => {
      chunks.push(event.data.byteLength)
      for (const body of decoder.push(event.data)) frames.push(JSON.parse(new TextDecoder().decode(body)))
    })
    const sent = [1, 2, 3, 4].map((id) => ({
      jsonrpc: '2.0' as const,
      method: 'notifications/progress',
      params: { id }
    }))
    await Promise.all(sent.map(async (message) => transport.send(message)))
    await waitFor(() => frames.length === 4, { message: 'four frames' })
    expect(frames).toEqual(sent)
    // The first at once, the three that followed it in one write.
    expect(chunks).toHaveLength(2)
    expect(chunks[1]).toBe(3 * chunks[0]!)
    // A message of a later event is written on its own.
    await transport.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { id: 5 } })
    await waitFor(() => frames.length === 5, { message: 'fifth frame' })
    expect(chunks).toHaveLength(3)
    await transport.close()
  })
})
