import { parseJSONRPCMessage, SERVER_INFO_META_KEY } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { MAX_KNOWN_SERVER_INFO_CHARS } from '../../src/mcp/constants.js'
import { quickJsonRpc } from '../../src/mcp/json-rpc.js'

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

  it('declines integers beyond 2^53 as ids and progress tokens, as the SDK schema refuses them', () => {
    const unsafe = [
      { jsonrpc: '2.0', id: 1e20, method: 'ping' },
      { jsonrpc: '2.0', id: 2 ** 53, method: 'ping' },
      { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { progressToken: 2 ** 60 } } }
    ]
    for (const message of unsafe) {
      expect(() => parseJSONRPCMessage(message)).toThrow()
      expect(quickJsonRpc(message)).toBeUndefined()
    }
    // Control: the largest safe integer is an id both take.
    const safe = { jsonrpc: '2.0', id: Number.MAX_SAFE_INTEGER, method: 'ping' }
    expect(() => parseJSONRPCMessage(safe)).not.toThrow()
    expect(quickJsonRpc(safe)).toBe(safe)
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
