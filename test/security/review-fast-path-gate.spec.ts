/**
 * The gate on the tools/call fast path of a 2026-07-28 `/mcp+p2p` session
 * (src/mcp/fast-call.ts). A raw libp2p peer speaking 2026-07-28 makes the
 * node record its `_meta` envelope with one call, then repeats that
 * envelope on calls it must be refused: a tool that is not exported, and
 * (from a peer outside `trust.allowPeers`) any tool. The node's debug log
 * proves each refusal was answered by the fast path, so a harness that
 * never reached it cannot pass; an exported tool through the same path is
 * the positive control.
 */
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  type JSONRPCMessage,
  PROTOCOL_VERSION_META_KEY
} from '@modelcontextprotocol/server'
import type { Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { ERROR_CODE_DENIED, MCP_P2P_PROTOCOL } from '../../src/mesh/constants.js'
import { P2PStreamTransport } from '../../src/mesh/p2p-transport.js'
import {
  cleanup,
  createHome,
  FIXTURES_DIR,
  type NodeProcess,
  rawPeer,
  spawnNode,
  tcpAddress,
  track,
  waitFor
} from '../helpers/index.js'

afterEach(cleanup)

const ENVELOPE = {
  [PROTOCOL_VERSION_META_KEY]: '2026-07-28',
  [CLIENT_INFO_META_KEY]: { name: 'hostile-peer', version: '1.0.0' },
  [CLIENT_CAPABILITIES_META_KEY]: {}
}

interface Answer {
  result?: { structuredContent?: unknown; isError?: boolean }
  error?: { code: number; message: string }
}

async function target(config: Record<string, unknown> = {}): Promise<{ node: NodeProcess; address: string }> {
  const home = await createHome({ config: { tools: [join(FIXTURES_DIR, 'mesh-provider.mjs')], ...config } })
  const node = await spawnNode({ home: home.dir, env: { MESH_TEST_NAME: 'target', DEBUG: 'mcp-mesh:mcp:fast-call' } })
  return { node, address: tcpAddress(await node.status()) }
}

/** A 2026-07-28 session on a fresh `/mcp+p2p` stream: every call carries ENVELOPE. */
async function modernSession(
  peer: Libp2p,
  address: string
): Promise<(id: string, name: string, args: object) => Promise<Answer>> {
  const stream = await peer.dialProtocol(multiaddr(address), MCP_P2P_PROTOCOL)
  const transport = new P2PStreamTransport(stream, { maxFrameBytes: 16 * 1024 * 1024 })
  const waiting = new Map<string, (answer: Answer) => void>()
  transport.onmessage = (message: JSONRPCMessage) => {
    const { id } = message as { id?: unknown; method?: string }
    if ('method' in message || id == null) return
    waiting.get(String(id))?.(message as Answer)
    waiting.delete(String(id))
  }
  await transport.start()
  track('hostile stream', async () => transport.close())
  return async (id, name, args) => {
    const { promise, resolve } = Promise.withResolvers<Answer>()
    waiting.set(id, resolve)
    await transport.send({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name, arguments: args, _meta: ENVELOPE }
    })
    return promise
  }
}

const fastPath = (node: NodeProcess, id: string): boolean => node.stderr().includes(`tools/call ${id} on the fast path`)

/**
 * Waits for the node's log line that the fast path took request `id`: the
 * node logs it before answering, but its stderr reaches this process over
 * another pipe than the answer, so under load the answer can come first.
 */
async function tookFastPath(node: NodeProcess, id: string): Promise<boolean> {
  return waitFor(() => fastPath(node, id), { timeoutMs: 10_000, message: `the fast path's log line for ${id}` })
}

describe('the gate on the tools/call fast path (2026-07-28 /mcp+p2p)', () => {
  it('refuses a tool that is not exported on a repeated envelope, as on the first (control: an exported tool runs)', async () => {
    const { node, address } = await target()
    const call = await modernSession(await rawPeer(), address)
    // The first call records the envelope (the SDK answers it).
    expect((await call('warm', 'remote_double', { n: 1 })).result?.structuredContent).toMatchObject({ doubled: 2 })

    const secret = await call('secret', 'remote_secret', {})
    expect(await tookFastPath(node, 'secret')).toBe(true)
    // Lines come in order on stderr: once the later call's is in, the first call's would be too.
    expect(fastPath(node, 'warm')).toBe(false)
    expect(secret.error).toMatchObject({ code: ERROR_CODE_DENIED })
    expect(secret.error?.message).toContain('not exported')
    const local = await call('local', 'mesh_status', {})
    expect(await tookFastPath(node, 'local')).toBe(true)
    expect(local.error).toMatchObject({ code: ERROR_CODE_DENIED })

    const control = await call('control', 'remote_double', { n: 3 })
    expect(await tookFastPath(node, 'control')).toBe(true)
    expect(control.result?.structuredContent).toMatchObject({ doubled: 6 })
    const status = await node.status()
    expect((status.trust as { inbound: { call?: { denied: number } } }).inbound.call?.denied).toBe(2)
  })

  it('refuses every call of a peer outside trust.allowPeers on a repeated envelope (control: an admitted peer)', async () => {
    const admitted = await rawPeer()
    const { node, address } = await target({ trust: { allowPeers: [admitted.peerId.toString()] } })
    const stranger = await modernSession(await rawPeer(), address)
    expect((await stranger('s1', 'remote_double', { n: 1 })).error).toMatchObject({ code: ERROR_CODE_DENIED })
    const repeated = await stranger('s2', 'remote_double', { n: 1 })
    expect(await tookFastPath(node, 's2')).toBe(true)
    expect(repeated.error).toMatchObject({ code: ERROR_CODE_DENIED })
    expect(repeated.error?.message).toContain('trust.allowPeers')

    const friend = await modernSession(admitted, address)
    expect((await friend('a1', 'remote_double', { n: 2 })).result?.structuredContent).toMatchObject({ doubled: 4 })
    const again = await friend('a2', 'remote_double', { n: 5 })
    expect(await tookFastPath(node, 'a2')).toBe(true)
    expect(again.result?.structuredContent).toMatchObject({ doubled: 10 })
  })
})
