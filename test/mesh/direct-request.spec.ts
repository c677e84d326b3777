import { streamPair } from '@libp2p/utils'
import {
  type JSONRPCMessage,
  parseJSONRPCMessage,
  ProtocolError,
  SdkError,
  SERVER_INFO_META_KEY
} from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { MAX_KNOWN_SERVER_INFO_CHARS } from '../../src/mesh/constants.js'
import { quickJsonRpc } from '../../src/mesh/json-rpc.js'
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

describe('quickJsonRpc', () => {
  const accepted = [
    { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', arguments: {} } },
    { jsonrpc: '2.0', id: 'a', method: 'ping' },
    { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { _meta: { progressToken: 3, 'mcp-mesh/task': {} } } },
    { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'd1', progress: 1 } },
    { jsonrpc: '2.0', id: 3, result: { content: [] } }
  ]
  const declined = [
    null,
    [],
    { jsonrpc: '1.0', id: 1, method: 'x' },
    { jsonrpc: '2.0', id: 1.5, method: 'x' },
    { jsonrpc: '2.0', id: 1, method: 'x', extra: true },
    { jsonrpc: '2.0', id: 1, method: 'x', params: [] },
    { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { progressToken: 1.5 } } },
    { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { 'io.modelcontextprotocol/related-task': 1 } } },
    { jsonrpc: '2.0', id: 1, result: [] },
    { jsonrpc: '2.0', id: 1, result: { _meta: {} } },
    { jsonrpc: '2.0', id: 1, error: { code: 1, message: 'm' } },
    { jsonrpc: '2.0', result: {} }
  ]

  it('accepts exactly what the SDK schema accepts, for the shapes it handles', () => {
    for (const message of accepted) {
      expect(quickJsonRpc(message)).toBe(message)
      expect(() => parseJSONRPCMessage(message)).not.toThrow()
    }
  })

  it('leaves everything else to the SDK schema', () => {
    for (const message of declined) expect(quickJsonRpc(message)).toBeUndefined()
  })
})

describe('quickJsonRpc, results carrying serverInfo', () => {
  const info = { name: 'mcp-mesh-test-quick', version: '1.2.3' }
  const result = (meta: Record<string, unknown>): Record<string, unknown> => ({
    jsonrpc: '2.0',
    id: 7,
    result: { content: [], _meta: meta }
  })

  it('takes a valid serverInfo (checked once by the SDK schema) as it is', () => {
    for (let i = 0; i < 2; i++) {
      const message = result({ [SERVER_INFO_META_KEY]: info, other: 1 })
      expect(quickJsonRpc(message)).toBe(message)
      expect(parseJSONRPCMessage(message)).toEqual(message)
    }
  })

  it('leaves to the SDK schema a serverInfo it would change or refuse', () => {
    const changed = [{ name: 'x' }, { name: 'x', version: 1 }, { name: 'x', version: '1', extra: true }, 'x', null]
    for (const value of changed) expect(quickJsonRpc(result({ [SERVER_INFO_META_KEY]: value }))).toBeUndefined()
    expect(quickJsonRpc({ jsonrpc: '2.0', id: 1, result: { _meta: [] } })).toBeUndefined()
  })

  it('does not remember a serverInfo longer than MAX_KNOWN_SERVER_INFO_CHARS (the SDK schema checks it every time)', () => {
    const large = { name: 'x', version: '1', title: 't'.repeat(MAX_KNOWN_SERVER_INFO_CHARS) }
    const message = result({ [SERVER_INFO_META_KEY]: large })
    expect(parseJSONRPCMessage(message)).toEqual(message)
    for (let i = 0; i < 2; i++) expect(quickJsonRpc(message)).toBeUndefined()
  })
})
