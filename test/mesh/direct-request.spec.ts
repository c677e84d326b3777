import { streamPair } from '@libp2p/utils'
import { type JSONRPCMessage, ProtocolError, SdkError } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { P2PStreamTransport } from '../../src/mesh/p2p-transport.js'
import { waitFor } from '../helpers/index.js'

const MAX = 1024 * 1024

async function pair(): Promise<{ a: P2PStreamTransport; b: P2PStreamTransport; toB: JSONRPCMessage[] }> {
  const [left, right] = await streamPair()
  const a = new P2PStreamTransport(left, { maxFrameBytes: MAX })
  const b = new P2PStreamTransport(right, { maxFrameBytes: MAX })
  const toB: JSONRPCMessage[] = []
  b.onmessage = (message) => toB.push(message)
  a.onmessage = () => {}
  await a.start()
  await b.start()
  return { a, b, toB }
}

describe('direct requests and the request interceptor', () => {
  it('answers a direct request through the interceptor, with progress first', async () => {
    const { a, b, toB } = await pair()
    b.intercept((request) => {
      const controller = new AbortController()
      const token = (request.params?._meta as { progressToken?: string } | undefined)?.progressToken
      void (async () => {
        await b.send({
          jsonrpc: '2.0',
          method: 'notifications/progress',
          params: { progressToken: token!, progress: 1 }
        })
        await b.send({ jsonrpc: '2.0', id: request.id, result: { echoed: request.params?.name } })
      })()
      return controller
    })
    const progress: unknown[] = []
    const result = await a.request('tools/call', { name: 'x' }, { onprogress: (p) => progress.push(p) })
    expect(result).toEqual({ echoed: 'x' })
    expect(progress).toEqual([{ progress: 1 }])
    expect(toB).toHaveLength(0)
  })

  it('rejects with a ProtocolError on an error response, and leaves declined requests to the SDK', async () => {
    const { a, b, toB } = await pair()
    b.intercept((request) => {
      if (request.method !== 'tools/call') return undefined
      void b.send({ jsonrpc: '2.0', id: request.id, error: { code: -32001, message: 'busy' } })
      return new AbortController()
    })
    const err = await a.request('tools/call', { name: 'x' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ProtocolError)
    expect((err as ProtocolError).code).toBe(-32001)
    await a.send({ jsonrpc: '2.0', id: 5, method: 'tools/list', params: {} })
    await waitFor(() => toB.length === 1, { message: 'declined request reached onmessage' })
  })

  it('cancels on abort: the remote taker is aborted; the stream closing rejects what is left', async () => {
    const { a, b } = await pair()
    const taken: AbortController[] = []
    b.intercept(() => {
      const controller = new AbortController()
      taken.push(controller)
      return controller
    })
    const abort = new AbortController()
    const first = a.request('tools/call', { name: 'slow' }, { signal: abort.signal }).catch((e: unknown) => e)
    await waitFor(() => taken.length === 1, { message: 'taken over' })
    abort.abort(new Error('stop'))
    expect(((await first) as Error).message).toBe('stop')
    await waitFor(() => taken[0]!.signal.aborted, { message: 'remote taker aborted' })
    const second = a.request('tools/call', { name: 'slow' }).catch((e: unknown) => e)
    await waitFor(() => taken.length === 2, { message: 'second taken over' })
    await b.close()
    expect(await second).toBeInstanceOf(SdkError)
    await waitFor(() => taken[1]!.signal.aborted, { message: 'aborted on close' })
  })
})
