import { Client } from '@modelcontextprotocol/client'
import { Server, SERVER_INFO_META_KEY } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { MODERN_ERA } from '../../src/mcp/constants.js'
import { quickModernToolResult, quickToolRequest, quickToolResult } from '../../src/mcp/quick-tool-call.js'

type Validation = { ok: true; value: unknown } | { ok: false; reason: string }
interface Codec {
  era: string
  validateResult(method: string, raw: unknown): Validation
}

const LEGACY_ERA = '2025-11-25'

/** The codec an SDK role uses once it negotiated `version` (its `_negotiatedWireCodec`). */
function codecOf(role: object, version: string): Codec {
  const internals = role as { _negotiatedProtocolVersion?: string; _negotiatedWireCodec(): Codec }
  internals._negotiatedProtocolVersion = version
  return internals._negotiatedWireCodec()
}

const server = new Server({ name: 's', version: '1' }, { capabilities: { tools: {} } })
const client = new Client({ name: 'c', version: '1' })
const serverLegacy = codecOf(new Server({ name: 's', version: '1' }, { capabilities: { tools: {} } }), LEGACY_ERA)
const serverModern = codecOf(server, MODERN_ERA)
const clientModern = codecOf(client, MODERN_ERA)

/** A deterministic generator (mulberry32). */
function prng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const symbolKeyed = (): Record<string | symbol, unknown> => ({ a: 1, [Symbol('s')]: 2 })
class Box {
  a = 1
}
const info = { name: 'peer', version: '1.0.0' }

// Each a fresh value per call (the schemas' copies must not be compared with a shared input).
const blocks: Array<() => unknown> = [
  () => ({ type: 'text', text: 'hello' }),
  () => ({ text: 'reordered', type: 'text' }),
  () => ({ type: 'text', text: '' }),
  () => ({ type: 'text', text: 'm', _meta: { k: 1 } }),
  () => ({ type: 'text', text: 'm', _meta: undefined }),
  () => ({ type: 'text', text: 'm', _meta: [] }),
  () => ({ type: 'text', text: 'm', _meta: null }),
  () => ({ type: 'text', text: 'm', _meta: symbolKeyed() }),
  () => ({ type: 'text', text: 'm', _meta: JSON.parse('{"__proto__":{"x":1},"k":2}') }),
  () => ({ type: 'text', text: 'm', annotations: { priority: 1 } }),
  () => ({ type: 'text', text: 'm', extra: true }),
  () => ({ type: 'text', text: 1 }),
  () => ({ type: 'text' }),
  () => ({ type: 'image', data: 'aGk=', mimeType: 'image/png' }),
  () => JSON.parse('{"type":"text","text":"p","__proto__":{"y":1}}'),
  () => Object.assign(Object.create(null), { type: 'text', text: 'n' }),
  () => null,
  () => 'text'
]
const metas: Array<() => unknown> = [
  () => undefined,
  () => ({}),
  () => ({ 'mcp-mesh/peer': 'p', 'mcp-mesh/attempts': 1 }),
  () => ({ progressToken: 'a' }),
  () => ({ other: 1, progressToken: 'b' }),
  () => ({ other: 1, [SERVER_INFO_META_KEY]: { ...info }, more: 2 }),
  () => ({ [SERVER_INFO_META_KEY]: { version: '1', name: 'reordered' } }),
  () => ({ progressToken: 3 }),
  () => ({ progressToken: 1.5 }),
  () => ({ progressToken: 2 ** 60 }),
  () => ({ progressToken: null }),
  () => ({ 'io.modelcontextprotocol/related-task': { taskId: 't' } }),
  () => ({ [SERVER_INFO_META_KEY]: { ...info } }),
  () => ({ [SERVER_INFO_META_KEY]: { ...info, title: 'T', description: 'd', websiteUrl: 'https://x' } }),
  () => ({ [SERVER_INFO_META_KEY]: { ...info, extra: 1 } }),
  () => ({ [SERVER_INFO_META_KEY]: { ...info, icons: [] } }),
  () => ({ [SERVER_INFO_META_KEY]: { name: 'x' } }),
  () => ({ [SERVER_INFO_META_KEY]: { name: 'x', version: 1 } }),
  () => ({ [SERVER_INFO_META_KEY]: { ...info, title: undefined } }),
  () => ({ [SERVER_INFO_META_KEY]: undefined }),
  () => ({ [SERVER_INFO_META_KEY]: 'x' }),
  () => JSON.parse('{"__proto__":{"z":1},"k":1}'),
  () => [],
  () => null,
  () => symbolKeyed()
]
const structured: Array<() => unknown> = [
  () => undefined,
  () => ({ message: 'm', n: 1 }),
  () => ({}),
  () => [],
  () => null,
  () => 'text',
  () => symbolKeyed(),
  () => new Box(),
  () => Object.assign(Object.create(null), { a: 1 }),
  () => JSON.parse('{"__proto__":{"z":1},"k":1}')
]
const errors: Array<() => unknown> = [() => undefined, () => true, () => false, () => 'true', () => null]

function generate(random: () => number): unknown {
  const pick = <T>(list: Array<() => T>): T => list[Math.floor(random() * list.length)]!()
  const roll = random()
  if (roll < 0.03) return pick<unknown>([() => null, () => [], () => 'x', () => new Box()])
  const value: Record<string, unknown> = {}
  if (random() < 0.97) {
    const content: unknown[] = []
    const count = Math.floor(random() * 3)
    for (let i = 0; i < count; i++) content.push(random() < 0.7 ? blocks[0]!() : pick(blocks))
    value.content = random() < 0.97 ? content : pick([() => ({}), () => 'c', () => null])
  }
  if (random() < 0.5) value._meta = pick(metas)
  if (random() < 0.4) value.structuredContent = pick(structured)
  if (random() < 0.4) value.isError = pick(errors)
  if (random() < 0.1) value.extra = { any: 'thing' }
  if (random() < 0.05) return JSON.parse(JSON.stringify({ ...value, __proto__x: 1 }).replace('__proto__x', '__proto__'))
  return value
}

/** A value's string keys in order, and its values, as nested entry lists (symbol keys left out). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return { array: value.map(shape) }
  if (value === null || typeof value !== 'object') return { value }
  return {
    prototype: Object.getPrototypeOf(value),
    entries: Object.keys(value).map((key) => [key, shape((value as Record<string, unknown>)[key])])
  }
}

describe('quickToolResult', () => {
  const cases = (() => {
    const random = prng(1303)
    return Array.from({ length: 4000 }, () => generate(random))
  })()

  const eras: Array<[string, Codec]> = [
    ['2025-11-25 server', serverLegacy],
    ['2026-07-28 server', serverModern]
  ]

  /** The same string keys (undefined-valued ones too) and values, in the same order: what reaches the wire. */
  function same(quick: unknown, verdict: Validation, input: unknown): void {
    expect(verdict.ok, JSON.stringify(input)).toBe(true)
    const value = (verdict as { value: unknown }).value
    expect(shape(quick), JSON.stringify(input)).toStrictEqual(shape(value))
    expect(JSON.stringify(quick)).toBe(JSON.stringify(value))
  }

  for (const [label, codec] of eras) {
    it(`takes only what the ${label} codec takes, as the codec's parse returns it`, () => {
      let taken = 0
      for (const value of cases) {
        const quick = quickToolResult(codec.era, value)
        if (quick === undefined) continue
        taken++
        same(quick.value, codec.validateResult('tools/call', value), value)
      }
      // Not vacuous: the common shapes are taken.
      expect(taken).toBeGreaterThan(cases.length / 4)
    })
  }

  it('takes only what the 2026-07-28 client codec takes of a result less its resultType', () => {
    let taken = 0
    const random = prng(2026)
    for (const value of cases) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) continue
      // resultType where the peer's encoder puts it (after the result's keys), or first.
      const raw: Record<string, unknown> =
        random() < 0.5 ? { ...value, resultType: 'complete' } : { resultType: 'complete', ...value }
      const quick = quickModernToolResult(raw)
      if (quick === undefined) continue
      taken++
      const { resultType: _complete, ...lifted } = raw
      same(quick, clientModern.validateResult('tools/call', lifted), raw)
    }
    expect(taken).toBeGreaterThan(cases.length / 4)
  })

  it('takes the hot-path shapes of both eras, copying only what is out of order', () => {
    const inOrder = {
      _meta: { 'mcp-mesh/peer': 'p', 'mcp-mesh/attempts': 1 },
      content: [{ type: 'text', text: 'echo: m' }]
    }
    expect(quickToolResult(LEGACY_ERA, inOrder)?.value).toBe(inOrder)
    const annotated = { content: [{ type: 'text', text: 'echo: m' }], _meta: { 'mcp-mesh/peer': 'p' } }
    const copied = quickToolResult(LEGACY_ERA, annotated)?.value
    expect(JSON.stringify(copied)).toBe(JSON.stringify({ _meta: annotated._meta, content: annotated.content }))
    const peer = {
      _meta: { [SERVER_INFO_META_KEY]: info },
      content: [{ type: 'text', text: 'echo: m' }],
      structuredContent: { message: 'm' }
    }
    expect(quickModernToolResult(peer)).toBe(peer)
    expect(quickToolResult(MODERN_ERA, peer)).toEqual({ ok: true, value: peer })
    expect(quickModernToolResult({ ...peer, resultType: 'complete' })).toStrictEqual(peer)
    expect(quickToolResult('2099-01-01', peer)).toBeUndefined()
  })

  it('leaves to the schema what it would change or refuse', () => {
    const declined = [
      { content: [{ type: 'text', text: 'm', annotations: {} }] },
      { content: [{ type: 'text', text: 'm', extra: 1 }] },
      { content: [{ type: 'image', data: 'aGk=', mimeType: 'image/png' }] },
      { content: [], isError: 'yes' },
      { content: [], _meta: { [SERVER_INFO_META_KEY]: { name: 'x' } } },
      JSON.parse('{"content":[],"__proto__":{"a":1}}')
    ]
    for (const value of declined) expect(quickModernToolResult(value), JSON.stringify(value)).toBeUndefined()
    expect(quickToolResult(LEGACY_ERA, { content: [], _meta: { progressToken: 1.5 } })).toBeUndefined()
    expect(quickToolResult(LEGACY_ERA, { content: [], structuredContent: [] })).toBeUndefined()
  })
})

describe('quickToolRequest', () => {
  const requestCodec = serverLegacy as Codec & { validateRequest(method: string, raw: unknown): Validation }
  const argsList: Array<() => unknown> = [
    () => undefined,
    () => ({ message: 'm' }),
    () => ({}),
    () => [],
    () => null,
    () => symbolKeyed(),
    () => JSON.parse('{"__proto__":{"z":1},"k":1}'),
    () => new Box()
  ]
  const names: Array<() => unknown> = [() => 'remote_echo', () => '', () => 1, () => undefined]

  function generate(random: () => number): unknown {
    const pick = <T>(list: Array<() => T>): T => list[Math.floor(random() * list.length)]!()
    if (random() < 0.03) return pick<unknown>([() => null, () => [], () => new Box()])
    const params: Record<string, unknown> = {}
    const order = random() < 0.5 ? ['name', 'arguments', '_meta'] : ['_meta', 'name', 'arguments']
    for (const key of order) {
      if (key === 'name' && random() < 0.95) params.name = pick(names)
      if (key === 'arguments' && random() < 0.8) params.arguments = pick(argsList)
      if (key === '_meta' && random() < 0.5) params._meta = pick(metas)
    }
    if (random() < 0.1) params.extra = 1
    if (random() < 0.05) params.task = random() < 0.5 ? { ttl: 1 } : 'x'
    const request: Record<string, unknown> = {
      jsonrpc: '2.0',
      id: 1,
      method: random() < 0.95 ? 'tools/call' : 'tools/list',
      params: random() < 0.97 ? params : pick<unknown>([() => null, () => [], () => undefined])
    }
    if (random() < 0.05) request.extra = true
    return request
  }

  type RequestCodec = Codec & { validateRequest(method: string, raw: unknown): Validation }

  /**
   * Runs 4,000 generated requests through the quick check and the era's
   * codec: whatever the check takes, the codec must take and parse to the
   * same value; `each` sees every taken request with the check's value.
   * Returns how many the check took.
   */
  function agreement(
    era: string,
    codec: RequestCodec,
    seed: number,
    each?: (request: unknown, value: unknown) => void
  ): number {
    const random = prng(seed)
    let taken = 0
    for (let i = 0; i < 4000; i++) {
      const request = generate(random)
      const quick = quickToolRequest(era, request)
      if (quick === undefined) continue
      taken++
      const verdict = codec.validateRequest('tools/call', request)
      expect(verdict.ok, JSON.stringify(request)).toBe(true)
      const value = (verdict as { value: unknown }).value
      expect(shape(quick.value), JSON.stringify(request)).toStrictEqual(shape(value))
      expect(JSON.stringify(quick.value)).toBe(JSON.stringify(value))
      each?.(request, quick.value)
    }
    return taken
  }

  it('takes only what the 2025-11-25 codec takes, as its parse returns it', () => {
    expect(agreement(LEGACY_ERA, requestCodec, 2025)).toBeGreaterThan(500)
    expect(quickToolRequest('2024-11-05', { method: 'tools/call', params: { name: 'x' } })).toBeUndefined()
  })

  it('takes only what the 2026-07-28 codec takes, as its parse returns it, in fresh objects', () => {
    const taken = agreement(MODERN_ERA, serverModern as RequestCodec, 2026, (request, value) => {
      const params = (value as { params: Record<string, unknown> }).params
      const raw = (request as { params: Record<string, unknown> }).params
      expect(params).not.toBe(raw)
      if (raw.arguments !== undefined) expect(params.arguments).not.toBe(raw.arguments)
    })
    expect(taken).toBeGreaterThan(300)
  })

  it('agrees with the 2026-07-28 codec on hand-picked requests (numbers, null and __proto__ included)', () => {
    const modernCodec = serverModern as RequestCodec
    const cases: unknown[] = [
      { name: 'echo', arguments: { message: 'hi' } },
      { name: 'echo', arguments: { b: 1, a: [1, { x: null }], 1: 'one' } },
      { name: 'echo', arguments: { m: 'x' }, _meta: { 'mcp-mesh/relay': 'r', progressToken: 'p', traceparent: 't' } },
      { name: 'echo', _meta: { progressToken: 7 } },
      { name: 'echo', _meta: { progressToken: 1.5 } },
      { name: 'echo', _meta: { progressToken: 2 ** 60 } },
      { name: 'echo', _meta: { progressToken: null } },
      { name: 'echo', _meta: [] },
      { name: 'echo', arguments: 'x' },
      { name: 7, arguments: {} },
      { name: 'echo', task: { ttl: 1 } },
      JSON.parse('{"name":"echo","arguments":{"__proto__":{"polluted":1},"a":1}}'),
      JSON.parse('{"name":"echo","_meta":{"__proto__":{"x":1}}}'),
      JSON.parse('{"name":"echo","__proto__":{"x":1}}')
    ]
    let taken = 0
    for (const params of cases) {
      const request = { jsonrpc: '2.0', id: 'r1', method: 'tools/call', params }
      const quick = quickToolRequest(MODERN_ERA, request)
      const verdict = modernCodec.validateRequest('tools/call', request)
      if (!verdict.ok) expect(quick, JSON.stringify(params)).toBeUndefined()
      if (quick === undefined) continue
      taken++
      expect(JSON.stringify(quick.value)).toBe(JSON.stringify((verdict as { value: unknown }).value))
    }
    expect(taken).toBeGreaterThanOrEqual(4)
  })
})
