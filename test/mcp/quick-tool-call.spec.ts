import { Server } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { MODERN_ERA } from '../../src/mcp/constants.js'
import { quickToolCallRequest, quickToolCallResult } from '../../src/mcp/quick-tool-call.js'

type Validation = { ok: boolean; value?: unknown }
interface Codec {
  era: string
  validateRequest(method: string, raw: unknown): Validation
  validateResult(method: string, raw: unknown): Validation
}

/** The SDK's 2026-07-28 wire codec, as a pinned session's server holds it. */
function modernCodec(): Codec {
  const server = new Server({ name: 't', version: '1' }, { capabilities: { tools: {} } })
  const internals = server as unknown as { _negotiatedProtocolVersion?: string; _negotiatedWireCodec(): Codec }
  internals._negotiatedProtocolVersion = MODERN_ERA
  return internals._negotiatedWireCodec()
}

/** Same value, same key order at every level (JSON text), or both declined/refused. */
function expectSame(quick: Validation | undefined, codec: Validation): void {
  if (quick === undefined) return
  expect(codec.ok).toBe(true)
  expect(quick.ok).toBe(true)
  expect(quick.value).toStrictEqual(codec.value)
  expect(JSON.stringify(quick.value)).toBe(JSON.stringify(codec.value))
}

const requests: unknown[] = [
  { name: 'echo', arguments: { message: 'hi' } },
  { name: 'echo' },
  { name: 'echo', arguments: {} },
  { name: 'echo', arguments: { b: 1, a: [1, { x: null }], 1: 'one' } },
  { name: 'echo', arguments: { m: 'x' }, _meta: { 'mcp-mesh/relay': 'r', progressToken: 'p', traceparent: 't' } },
  { name: 'echo', _meta: { progressToken: 7 } },
  { name: 'echo', _meta: {} },
  { name: 'echo', _meta: { progressToken: 1.5 } },
  { name: 'echo', _meta: { progressToken: 2 ** 60 } },
  { name: 'echo', _meta: { progressToken: null } },
  { name: 'echo', _meta: { progressToken: true } },
  { name: 'echo', _meta: [] },
  { name: 'echo', _meta: null },
  { name: 'echo', arguments: [] },
  { name: 'echo', arguments: null },
  { name: 'echo', arguments: 'x' },
  { name: 7, arguments: {} },
  { arguments: {} },
  { name: 'echo', extra: 1 },
  { name: 'echo', task: { ttl: 1 } },
  JSON.parse('{"name":"echo","arguments":{"__proto__":{"polluted":1},"a":1}}'),
  JSON.parse('{"name":"echo","_meta":{"__proto__":{"x":1}}}'),
  JSON.parse('{"name":"echo","__proto__":{"x":1}}')
]

const results: unknown[] = [
  { content: [{ type: 'text', text: '{"message":"hi"}' }], structuredContent: { message: 'hi' } },
  { content: [] },
  {
    content: [
      { type: 'text', text: 'a' },
      { type: 'text', text: 'b' }
    ],
    isError: true
  },
  { structuredContent: { a: 1 }, content: [{ text: 't', type: 'text' }], isError: false },
  { content: [{ type: 'text', text: 'a' }], structuredContent: undefined },
  { content: [{ type: 'text', text: 'a' }], isError: undefined },
  { content: [{ type: 'text', text: 'a' }], isError: 'yes' },
  { content: [{ type: 'text', text: 7 }] },
  { content: [{ type: 'text', text: 'a', annotations: { priority: 1 } }] },
  { content: [{ type: 'text', text: 'a', extra: 1 }] },
  { content: [{ type: 'image', data: 'AAAA', mimeType: 'image/png' }] },
  { content: [null] },
  { content: 'text' },
  { content: [{ type: 'text', text: 'a' }], _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'x' } } },
  { content: [{ type: 'text', text: 'a' }], other: 1 },
  { structuredContent: {} },
  // biome-ignore lint/suspicious/noSparseArray: a hole in content
  { content: [, { type: 'text', text: 'a' }] },
  JSON.parse('{"content":[{"type":"text","text":"a","__proto__":{}}]}')
]

describe('quick tools/call checks', () => {
  const codec = modernCodec()

  it('return what the 2026-07-28 codec returns for every request they accept', () => {
    let accepted = 0
    for (const params of requests) {
      const request = { jsonrpc: '2.0', id: 'r1', method: 'tools/call', params }
      const quick = quickToolCallRequest(MODERN_ERA, request)
      const full = codec.validateRequest('tools/call', request)
      if (quick !== undefined) accepted++
      expectSame(quick, full)
      // Whatever the codec refuses, the quick check never accepts.
      if (!full.ok) expect(quick).toBeUndefined()
    }
    expect(accepted).toBeGreaterThanOrEqual(6)
  })

  it('return what the 2026-07-28 codec returns for every result they accept', () => {
    let accepted = 0
    for (const result of results) {
      const quick = quickToolCallResult(MODERN_ERA, result)
      const full = codec.validateResult('tools/call', result)
      if (quick !== undefined) accepted++
      expectSame(quick, full)
      if (!full.ok) expect(quick).toBeUndefined()
    }
    expect(accepted).toBeGreaterThanOrEqual(5)
  })

  it('copy what the codec copies (a fresh request params, arguments, _meta and content blocks)', () => {
    const args = { message: 'hi' }
    const meta = { progressToken: 'p' }
    const request = { method: 'tools/call', params: { name: 'echo', arguments: args, _meta: meta } }
    const value = quickToolCallRequest(MODERN_ERA, request)?.value as { params: Record<string, unknown> }
    expect(value.params).not.toBe(request.params)
    expect(value.params.arguments).not.toBe(args)
    expect(value.params._meta).not.toBe(meta)
    const block = { type: 'text', text: 'a' }
    const out = quickToolCallResult(MODERN_ERA, { content: [block] })?.value as { content: unknown[] }
    expect(out.content[0]).not.toBe(block)
  })

  it('leave every other era, method and value to the codec', () => {
    const params = { name: 'echo', arguments: {} }
    expect(quickToolCallRequest('2025-11-25', { method: 'tools/call', params })).toBeUndefined()
    expect(quickToolCallRequest(MODERN_ERA, { method: 'tools/list', params })).toBeUndefined()
    expect(quickToolCallRequest(MODERN_ERA, { method: 'tools/call' })).toBeUndefined()
    expect(quickToolCallResult('2025-11-25', { content: [] })).toBeUndefined()
    expect(quickToolCallResult(MODERN_ERA, [])).toBeUndefined()
    expect(quickToolCallResult(MODERN_ERA, null)).toBeUndefined()
  })
})
