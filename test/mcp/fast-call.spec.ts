import { multiaddr } from '@multiformats/multiaddr'
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY
} from '@modelcontextprotocol/server'
import type { Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MCP_P2P_PROTOCOL } from '../../src/mesh/constants.js'
import { FrameDecoder } from '../../src/mesh/frame.js'
import { P2PStreamTransport } from '../../src/mesh/p2p-transport.js'
import {
  cleanup,
  createHome,
  FIXTURES_DIR,
  type NodeProcess,
  spawnNode,
  tcpAddress,
  track,
  waitFor,
  modernServer,
  rawPeer
} from '../helpers/index.js'

/**
 * The tools/call fast path of a pinned 2026-07-28 `/mcp+p2p` session
 * (src/mcp/fast-call.ts) answers exactly as the SDK does. Each case is sent
 * with an envelope the node has not seen (the SDK answers), then once a
 * call validated that envelope, again (the fast path answers; the node's
 * debug log says which): the two messages must be the same bytes, ids aside.
 */

let target: NodeProcess
let address: string
let peer: Libp2p

beforeAll(async () => {
  const home = await createHome({
    config: {
      tools: [`${FIXTURES_DIR}/mesh-provider.mjs`],
      // A 2026-07-28 server whose tool answers input_required, shared with peers.
      servers: {
        modern: modernServer({ export: true })
      }
    }
  })
  target = await spawnNode({
    home: home.dir,
    env: { MESH_TEST_NAME: 'target', DEBUG: 'mcp-mesh:mcp:fast-call' }
  })
  address = tcpAddress(await target.status())
  peer = await rawPeer()
}, 60_000)

afterAll(cleanup)

interface Session {
  /** Sends a tools/call; resolves with every message about it (notifications, then the response), as JSON text. */
  call(id: string, params: Record<string, unknown>): Promise<string[]>
}

async function open(): Promise<Session> {
  const stream = await peer.dialProtocol(multiaddr(address), MCP_P2P_PROTOCOL)
  const transport = new P2PStreamTransport(stream, { maxFrameBytes: 16 * 1024 * 1024 })
  const waiting = new Map<string, { messages: string[]; done: (messages: string[]) => void }>()
  // The bytes as they came off the stream (a second reader of the same frames), not re-serialized.
  const frames = new FrameDecoder(16 * 1024 * 1024)
  const text = new TextDecoder()
  stream.addEventListener('message', (event) => {
    for (const frame of frames.push(event.data)) {
      const raw = text.decode(frame)
      const message = JSON.parse(raw) as { id?: unknown; method?: string; params?: { progressToken?: unknown } }
      const response = message.method == null
      const key = response ? String(message.id) : String(message.params?.progressToken)
      const entry = waiting.get(key)
      if (entry == null) continue
      entry.messages.push(raw)
      if (response) {
        waiting.delete(key)
        entry.done(entry.messages)
      }
    }
  })
  await transport.start()
  track('fast-call stream', async () => transport.close())
  return {
    call: async (id, params) => {
      const { promise, resolve } = Promise.withResolvers<string[]>()
      waiting.set(id, { messages: [], done: resolve })
      await transport.send({ jsonrpc: '2.0', id, method: 'tools/call', params })
      return promise
    }
  }
}

function envelope(version: string): Record<string, unknown> {
  return {
    [PROTOCOL_VERSION_META_KEY]: '2026-07-28',
    [CLIENT_INFO_META_KEY]: { name: 'fast-call-test', version },
    // As the peer pool declares them: the call runs in input rounds.
    [CLIENT_CAPABILITIES_META_KEY]: { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} }
  }
}

/**
 * The messages with the request's id replaced, progress figures and sealed
 * request states (random per call) masked, and repeated progress
 * notifications once (how many arrive depends on timing).
 */
function normalized(messages: string[], id: string): string[] {
  const texts = messages.map((text) =>
    text
      .replaceAll(JSON.stringify(id), '"ID"')
      .replace(/"progress":\d+/g, '"progress":0')
      .replace(/"requestState":"[^"]*"/g, '"requestState":"STATE"')
  )
  return [...new Set(texts)]
}

function fastPathLogged(id: string): boolean {
  return target.stderr().includes(`tools/call ${id} on the fast path`)
}

const CASES: Array<{ name: string; params: (meta: Record<string, unknown>) => Record<string, unknown> }> = [
  { name: 'result', params: (meta) => ({ name: 'remote_double', arguments: { n: 4 }, _meta: meta }) },
  {
    name: 'unknown tool (SEP-1303: -32602)',
    params: (meta) => ({ name: 'no_such_tool', arguments: {}, _meta: meta })
  },
  {
    name: 'bad arguments (a tool error result)',
    params: (meta) => ({ name: 'remote_double', arguments: { n: 'four' }, _meta: meta })
  },
  { name: 'malformed request (no name)', params: (meta) => ({ arguments: {}, _meta: meta }) },
  {
    name: 'input_required (a shared 2026-07-28 server asks for input)',
    params: (meta) => ({ name: 'modern.ask_name', arguments: {}, _meta: meta })
  },
  {
    name: 'progress and a structured result',
    params: (meta) => ({
      name: 'remote_slow',
      arguments: { durationMs: 120 },
      _meta: { ...meta, progressToken: 'PROGRESS' }
    })
  }
]

describe('tools/call fast path on /mcp+p2p (2026-07-28)', () => {
  it('answers byte for byte as the SDK does', async () => {
    const session = await open()
    await waitFor(async () => {
      const [answer] = await session.call(`probe-${Date.now()}`, {
        name: 'remote_double',
        arguments: { n: 1 },
        _meta: envelope('probe')
      })
      return answer?.includes('"doubled"') === true
    })
    await waitFor(async () => {
      const [answer] = await session.call(`probe-modern-${Date.now()}`, {
        name: 'modern.ask_name',
        arguments: {},
        _meta: envelope('probe')
      })
      return answer?.includes('input_required') === true
    })
    for (const [index, testCase] of CASES.entries()) {
      const meta = envelope(`case-${index}`)
      const viaSdk = await session.call(`sdk-${index}`, testCase.params(meta))
      // A call the SDK answers with this envelope validates it for the session.
      await session.call(`prime-${index}`, { name: 'remote_double', arguments: { n: 2 }, _meta: meta })
      const viaFast = await session.call(`fast-${index}`, testCase.params(meta))
      // The node's stderr and the stream are two channels: the log line may arrive after the answer. Lines of
      // one pipe keep their order, so once the fast call's line is in, the SDK call's would be too.
      await waitFor(() => fastPathLogged(`fast-${index}`), { message: `${testCase.name}: the fast path` })
      expect(fastPathLogged(`sdk-${index}`), testCase.name).toBe(false)
      expect(normalized(viaFast, `fast-${index}`), testCase.name).toEqual(normalized(viaSdk, `sdk-${index}`))
    }
  }, 60_000)

  it('runs an input round opened on the fast path to its end (the retry through the SDK)', async () => {
    const session = await open()
    const meta = envelope('rounds')
    await session.call('rounds-prime', { name: 'remote_double', arguments: { n: 1 }, _meta: meta })
    const [asked] = await session.call('rounds-ask', { name: 'modern.ask_name', arguments: {}, _meta: meta })
    await waitFor(() => fastPathLogged('rounds-ask'), { message: 'the fast path' })
    const { result } = JSON.parse(asked!) as {
      result: { resultType: string; requestState: string; inputRequests: Record<string, unknown> }
    }
    expect(result.resultType).toBe('input_required')
    const [key] = Object.keys(result.inputRequests)
    const [answer] = await session.call('rounds-retry', {
      name: 'modern.ask_name',
      arguments: {},
      requestState: result.requestState,
      inputResponses: { [key!]: { action: 'accept', content: { name: 'Ada' } } },
      _meta: meta
    })
    // A later fast-path call's line proves the node's log is read past the retry.
    await session.call('rounds-after', { name: 'remote_double', arguments: { n: 1 }, _meta: meta })
    await waitFor(() => fastPathLogged('rounds-after'), { message: 'the fast path' })
    expect(fastPathLogged('rounds-retry')).toBe(false)
    expect(answer).toContain('Hello, Ada!')
  }, 30_000)

  it('leaves a new envelope and a retry with requestState to the SDK', async () => {
    const session = await open()
    const meta = envelope('other')
    await session.call('first', { name: 'remote_double', arguments: { n: 3 }, _meta: meta })
    const changed = { ...meta, [CLIENT_INFO_META_KEY]: { name: 'fast-call-test', version: 'changed' } }
    const [answer] = await session.call('changed', { name: 'remote_double', arguments: { n: 3 }, _meta: changed })
    expect(answer).toContain('"doubled":6')
    const [refused] = await session.call('retry', {
      name: 'remote_double',
      arguments: { n: 3 },
      requestState: 'forged',
      _meta: changed
    })
    expect(refused).toContain('"error"')
    // A later fast-path call's line proves the node's log is read past both.
    await session.call('after', { name: 'remote_double', arguments: { n: 3 }, _meta: changed })
    await waitFor(() => fastPathLogged('after'), { message: 'the fast path' })
    expect(fastPathLogged('changed')).toBe(false)
    expect(fastPathLogged('retry')).toBe(false)
  }, 30_000)

  it('takes the fast path only for an envelope written as the validated one (the same keys in the same order)', async () => {
    const session = await open()
    const meta = envelope('order')
    await session.call('order-first', { name: 'remote_double', arguments: { n: 2 }, _meta: meta })
    // The same capabilities in another order: another envelope for the comparison, so the SDK's.
    const reordered = {
      ...meta,
      [CLIENT_CAPABILITIES_META_KEY]: { sampling: {}, elicitation: { form: {}, url: {} }, roots: {} }
    }
    const [answer] = await session.call('order-reordered', {
      name: 'remote_double',
      arguments: { n: 2 },
      _meta: reordered
    })
    expect(answer).toContain('"doubled":4')
    // An own "__proto__" key in the rest of _meta (JSON.parse makes one) is carried as any other.
    const extra = JSON.parse('{"__proto__":{"x":1},"note":"n"}') as Record<string, unknown>
    const [after] = await session.call('order-after', {
      name: 'remote_double',
      arguments: { n: 5 },
      _meta: { ...reordered, ...extra }
    })
    expect(after).toContain('"doubled":10')
    await waitFor(() => fastPathLogged('order-after'), { message: 'the fast path' })
    expect(fastPathLogged('order-reordered')).toBe(false)
  }, 30_000)
})
