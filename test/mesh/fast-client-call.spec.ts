import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { streamPair } from '@libp2p/utils'
import { Client } from '@modelcontextprotocol/client'
import type { Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CallToolParams, callPeerTool, type PeerCallOptions } from '../../src/mesh/fast-client-call.js'
import { FrameDecoder } from '../../src/mesh/frame.js'
import { P2PStreamTransport } from '../../src/mesh/p2p-transport.js'
import { PeerPool } from '../../src/mesh/peer-pool.js'
import { callerInput } from '../../src/tools/input-scope.js'
import {
  cleanup,
  createHome,
  createTempDir,
  FIXTURES_DIR,
  type NodeProcess,
  spawnNode,
  tcpAddress,
  track,
  modernServer,
  rawPeer
} from '../helpers/index.js'

/**
 * The calling side's tools/call fast path (src/mesh/fast-client-call.ts)
 * does what `client.callTool` does. Each case goes to a real node through
 * both, on the same pooled client: the requests must leave as the same
 * bytes (ids and progress tokens aside), and the results (key order
 * included) or errors (class, code, message, data) must be the same.
 */

let target: NodeProcess
let peer: Libp2p
let pool: PeerPool
let client: Client
/** Every frame this side sent to the target, as JSON text, in order. */
const nodeFrames: string[] = []

interface Target {
  client: Client
  sent: string[]
}

beforeAll(async () => {
  const home = await createHome({
    config: {
      tools: [`${FIXTURES_DIR}/mesh-provider.mjs`],
      servers: {
        modern: modernServer({ export: true })
      }
    }
  })
  target = await spawnNode({ home: home.dir, env: { MESH_TEST_NAME: 'target' } })
  const status = await target.status()
  peer = await rawPeer()
  await peer.dial(multiaddr(tcpAddress(status)))
  pool = new PeerPool(peer, { maxFrameBytes: 16 * 1024 * 1024, idleTimeoutMs: 60_000 })
  track('peer pool', async () => pool.close())
  client = await pool.get(status.peerId)
  const transport = (await pool.transport(status.peerId)) as P2PStreamTransport
  expect(client.transport).toBe(transport)
  const frames = new FrameDecoder(16 * 1024 * 1024)
  const text = new TextDecoder()
  const send = transport.stream.send.bind(transport.stream)
  transport.stream.send = (data) => {
    for (const frame of frames.push(data)) nodeFrames.push(text.decode(frame))
    return send(data)
  }
}, 60_000)

afterAll(cleanup)

type Outcome =
  | { ok: true; result: string }
  | { ok: false; name: string; constructor: string; code: unknown; message: string; data: string | undefined }

interface Run {
  outcome: Outcome
  /** The tools/call request as it left, and the cancellation if one was sent, ids and tokens masked. */
  frames: string[]
  /** The request's id (a string on the fast path, a number through the SDK). */
  id: unknown
  progress: unknown[]
  /** The methods of everything sent during the call, in order. */
  methods: unknown[]
}

type Path = (client: Client, params: CallToolParams, options?: PeerCallOptions) => Promise<unknown>
const viaSdk: Path = async (client, params, options) => client.callTool(params, options)
const viaFast: Path = async (client, params, options) => callPeerTool(client, params, options)

/** A caller that answers the far side's elicitation (the `input_required` round). */
const answerName = async (): Promise<Record<string, unknown>> => ({ action: 'accept', content: { name: 'Ada' } })

async function run(
  path: Path,
  params: CallToolParams,
  options: () => PeerCallOptions = () => ({}),
  target: Target = { client, sent: nodeFrames }
): Promise<Run> {
  const { sent } = target
  const progress: unknown[] = []
  const given = options()
  const first = sent.length
  let outcome: Outcome
  try {
    const result = await callerInput.run(answerName, async () =>
      path(target.client, params, {
        ...given,
        ...(given.onprogress != null ? { onprogress: (p) => progress.push(p) } : {})
      })
    )
    outcome = { ok: true, result: JSON.stringify(result) }
  } catch (err) {
    const error = err as Error & { code?: unknown; data?: unknown }
    outcome = {
      ok: false,
      name: error.name,
      constructor: error.constructor.name,
      code: error.code,
      message: error.message,
      // How long a timed-out call ran depends on timing.
      data:
        error.data === undefined
          ? undefined
          : JSON.stringify(error.data).replace(/"totalElapsed":\d+/, '"totalElapsed":0')
    }
  }
  const mine = sent.slice(first).map((frame) => JSON.parse(frame) as Record<string, unknown>)
  const request = mine.find((message) => message.method === 'tools/call')
  const id = request?.id
  // Ids and progress tokens masked in place: key order and every other byte kept.
  const masked = (frame: string): string => {
    const message = JSON.parse(frame) as {
      id?: unknown
      params?: { requestId?: unknown; _meta?: { progressToken?: unknown } }
    }
    if ('id' in message) message.id = 'ID'
    if (message.params?.requestId !== undefined) message.params.requestId = 'ID'
    if (message.params?._meta?.progressToken !== undefined) message.params._meta.progressToken = 'ID'
    return JSON.stringify(message)
  }
  const frames = sent
    .slice(first)
    .filter((frame) => {
      const message = JSON.parse(frame) as { method?: string; id?: unknown; params?: { requestId?: unknown } }
      return message.id === id || (message.method === 'notifications/cancelled' && message.params?.requestId === id)
    })
    .map(masked)
  const methods = mine.map((message) => message.method)
  return { outcome, frames, id, progress, methods }
}

const CASES: Array<{ name: string; params: CallToolParams; options?: () => PeerCallOptions }> = [
  { name: 'a result (structured)', params: { name: 'remote_double', arguments: { n: 4 } } },
  {
    name: 'a result with the caller’s _meta',
    params: { name: 'remote_double', arguments: { n: 5 }, _meta: { 'mcp-mesh/relay': 'tag-1' } }
  },
  {
    name: 'a tool error',
    params: { name: 'remote_flaky', arguments: { counterFile: '/dev/null', failTimes: 1_000 } }
  },
  { name: 'an unknown tool (-32602)', params: { name: 'no_such_tool', arguments: {} } },
  { name: 'bad arguments (SEP-1303: a tool error)', params: { name: 'remote_double', arguments: { n: 'four' } } },
  { name: 'an input_required round of a shared 2026-07-28 server', params: { name: 'modern.ask_name', arguments: {} } },
  {
    name: 'progress',
    params: { name: 'remote_slow', arguments: { durationMs: 160 } },
    options: () => ({ onprogress: () => {}, timeout: 10_000 })
  },
  {
    name: 'a timeout (the request is cancelled)',
    params: { name: 'remote_slow', arguments: { durationMs: 10_000 } },
    options: () => ({ timeout: 80 })
  },
  {
    name: 'an abort (the request is cancelled)',
    params: { name: 'remote_slow', arguments: { durationMs: 10_000 } },
    options: () => ({ signal: AbortSignal.timeout(80) })
  },
  {
    name: 'a signal aborted before the call',
    params: { name: 'remote_double', arguments: { n: 1 } },
    options: () => ({ signal: AbortSignal.abort(new Error('gone')) })
  },
  {
    name: 'the total timeout passed while progress keeps the call alive',
    params: { name: 'remote_slow', arguments: { durationMs: 10_000 } },
    options: () => ({ onprogress: () => {}, timeout: 1_000, resetTimeoutOnProgress: true, maxTotalTimeout: 120 })
  }
]

function compare(testCase: (typeof CASES)[number], sdk: Run, fast: Run): void {
  // Nothing is sent when the signal was aborted before the call.
  const sentAny = sdk.id !== undefined
  expect(typeof sdk.id, testCase.name).toBe(sentAny ? 'number' : 'undefined')
  expect(typeof fast.id, `${testCase.name}: took the fast path`).toBe(sentAny ? 'string' : 'undefined')
  expect(fast.outcome, testCase.name).toEqual(sdk.outcome)
  expect(fast.frames, testCase.name).toEqual(sdk.frames)
  // Progress: the same figures' shape (how many arrive depends on timing).
  const shape = (progress: unknown[]): string[] => [...new Set(progress.map((p) => Object.keys(p as object).join(',')))]
  expect(shape(fast.progress), testCase.name).toEqual(shape(sdk.progress))
  expect(fast.progress.length > 0, testCase.name).toBe(sdk.progress.length > 0)
}

describe('the calling side’s tools/call fast path', () => {
  it('does what client.callTool does, for every outcome', async () => {
    for (const testCase of CASES) {
      const sdk = await run(viaSdk, testCase.params, testCase.options)
      const fast = await run(viaFast, testCase.params, testCase.options)
      compare(testCase, sdk, fast)
    }
  }, 60_000)

  it('validates structured content once the client holds the tool list (output schemas)', async () => {
    await client.listTools()
    const testCase = CASES[0]!
    const sdk = await run(viaSdk, testCase.params)
    const fast = await run(viaFast, testCase.params)
    compare(testCase, sdk, fast)
    expect(fast.outcome.ok).toBe(true)
  }, 30_000)

  it('leaves the timeout to the caller’s deadline signal with signalDeadline (no timer of its own)', async () => {
    const params = { name: 'remote_slow', arguments: { durationMs: 200 } }
    // The signal never aborts: `timeout` alone would end the call at 50 ms.
    const kept = await run(viaFast, params, () => ({
      signal: new AbortController().signal,
      timeout: 50,
      signalDeadline: true
    }))
    expect(kept.outcome.ok).toBe(true)
    expect(kept.methods).toEqual(['tools/call'])
    // The deadline's abort cancels the call as the SDK's timer would have.
    const sdk = await run(viaSdk, { ...params, arguments: { durationMs: 10_000 } }, () => ({
      signal: AbortSignal.timeout(80)
    }))
    const fast = await run(viaFast, { ...params, arguments: { durationMs: 10_000 } }, () => ({
      signal: AbortSignal.timeout(80),
      timeout: 80,
      signalDeadline: true
    }))
    expect(fast.outcome).toEqual(sdk.outcome)
    expect(fast.frames).toEqual(sdk.frames)
    expect(fast.methods).toEqual(['tools/call', 'notifications/cancelled'])
  }, 30_000)

  it('hands out an open stream’s client without a promise (PeerPool.ready)', async () => {
    const status = await target.status()
    expect(pool.ready(status.peerId)).toBe(client)
    const fresh = new PeerPool(peer, { maxFrameBytes: 16 * 1024 * 1024, idleTimeoutMs: 60_000 })
    track('fresh peer pool', async () => fresh.close())
    expect(fresh.ready(status.peerId)).toBeUndefined()
    const opening = fresh.get(status.peerId)
    expect(fresh.ready(status.peerId)).toBeUndefined()
    const opened = await opening
    expect(fresh.ready(status.peerId)).toBe(opened)
    await fresh.drop(status.peerId)
    expect(fresh.ready(status.peerId)).toBeUndefined()
    const again = await fresh.get(status.peerId)
    expect(again).not.toBe(opened)
    expect(fresh.ready(status.peerId)).toBe(again)
    await fresh.close()
    expect(fresh.ready(status.peerId)).toBeUndefined()
  }, 30_000)

  it('leaves options it does not handle to the SDK', async () => {
    const dir = await createTempDir()
    const params = { name: 'remote_flaky', arguments: { counterFile: join(dir, 'count'), failTimes: 0 } }
    const other = await run(
      async (c, p, o) => callPeerTool(c, p, { ...o, relatedRequestId: 1 } as PeerCallOptions),
      params
    )
    expect(typeof other.id).toBe('number')
    expect(other.outcome.ok).toBe(true)
  }, 30_000)
})

/**
 * A scripted peer: the answers a node would not give (results the wire
 * schema refuses or strips, odd result types, error data, SEP-2243's
 * header mismatch, progress carrying envelope keys), through both paths.
 */
async function scriptedPeer(): Promise<Target> {
  const [left, right] = await streamPair()
  const a = new P2PStreamTransport(left, { maxFrameBytes: 1024 * 1024 })
  const b = new P2PStreamTransport(right, { maxFrameBytes: 1024 * 1024 })
  const answer = async (id: string | number, result: Record<string, unknown>): Promise<void> =>
    b.send({ jsonrpc: '2.0', id, result })
  b.onmessage = (message) => {
    if (!('method' in message) || !('id' in message)) return
    const { id } = message
    if (message.method === 'server/discover') {
      void answer(id, {
        resultType: 'complete',
        supportedVersions: ['2026-07-28'],
        capabilities: { tools: {} },
        serverInfo: { name: 'scripted', version: '1.0.0' }
      })
      return
    }
    if (message.method === 'tools/list') {
      void answer(id, { resultType: 'complete', tools: [] })
      return
    }
    const params = message.params as { name: string; _meta?: { progressToken?: string | number } }
    const reply = SCRIPT[params.name]
    if (reply == null) return
    void (async () => {
      const token = params._meta?.progressToken
      if (token !== undefined) {
        await b.send({
          jsonrpc: '2.0',
          method: 'notifications/progress',
          params: {
            progressToken: token,
            progress: 1,
            extra: 'kept?',
            _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', other: 1 }
          }
        })
      }
      if ('error' in reply)
        await b.send({ jsonrpc: '2.0', id, error: reply.error as { code: number; message: string } })
      else await answer(id, reply.result)
    })()
  }
  await b.start()
  const client = new Client(
    { name: 'mcp-mesh', version: '0.0.0' },
    {
      versionNegotiation: { mode: 'auto', probe: { timeoutMs: 5_000 } },
      capabilities: { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} }
    }
  )
  await client.connect(a)
  track('scripted peer', async () => client.close())
  const sent: string[] = []
  const frames = new FrameDecoder(1024 * 1024)
  const text = new TextDecoder()
  const send = left.send.bind(left)
  left.send = (data) => {
    for (const frame of frames.push(data)) sent.push(text.decode(frame))
    return send(data)
  }
  return { client, sent }
}

const SCRIPT: Record<string, { result: Record<string, unknown> } | { error: Record<string, unknown> }> = {
  stripped: {
    result: {
      resultType: 'complete',
      content: [{ type: 'text', text: 'x', unknownKey: 1 }],
      unknownTop: true,
      _meta: { a: 1, 'io.modelcontextprotocol/serverInfo': { name: 's', version: '1' } }
    }
  },
  'no-result-type': { result: { content: [] } },
  'odd-result-type': { result: { resultType: 'later', content: [] } },
  'bad-content': { result: { resultType: 'complete', content: 'nope' } },
  'no-content': { result: { resultType: 'complete' } },
  'bad-is-error': { result: { resultType: 'complete', content: [], isError: 'yes' } },
  'bad-server-info': {
    result: { resultType: 'complete', content: [], _meta: { 'io.modelcontextprotocol/serverInfo': 5, kept: true } }
  },
  'non-string-result-type': { result: { resultType: 7, content: [] } },
  'empty-input-required': { result: { resultType: 'input_required' } },
  'error-with-data': { error: { code: -32603, message: 'boom', data: { why: 'because' } } },
  'url-elicitation': {
    error: {
      code: -32042,
      message: 'go there',
      data: { elicitations: [{ mode: 'url', elicitationId: 'e', url: 'https://example.com', message: 'm' }] }
    }
  },
  'header-mismatch': { error: { code: -32020, message: 'header mismatch' } }
}

describe('the fast path against answers a node would not give', () => {
  it('decodes, refuses and retries as client.callTool does', async () => {
    const sdkPeer = await scriptedPeer()
    const fastPeer = await scriptedPeer()
    for (const name of Object.keys(SCRIPT)) {
      const plain = (): PeerCallOptions => ({})
      const withProgress = (): PeerCallOptions => ({ onprogress: () => {} })
      for (const options of [plain, withProgress]) {
        const testCase = { name: `${name}${options().onprogress != null ? ' with progress' : ''}`, params: { name } }
        const sdk = await run(viaSdk, testCase.params, options, sdkPeer)
        const fast = await run(viaFast, testCase.params, options, fastPeer)
        compare(testCase, sdk, fast)
        // The progress as handed to the caller, field for field.
        expect(JSON.stringify(fast.progress), testCase.name).toEqual(JSON.stringify(sdk.progress))
        // Everything sent about the call (a header mismatch lists the tools and sends again).
        expect(fast.methods, testCase.name).toEqual(sdk.methods)
      }
    }
  }, 30_000)
})
