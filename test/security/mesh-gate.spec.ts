/**
 * The trust gate on the `/mcp+p2p` call path, attacked by raw libp2p peers
 * against a real node (non-exported tools, trust.allowPeers, trust.tools,
 * pushed-task calls, rate limits), and trust.sendTo on the outbound side
 * with three real nodes. Every refusal must reach the peer as a mesh error
 * code and show in the gate's counters in mesh_status.
 */
import { join } from 'node:path'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterEach, describe, expect, it } from 'vitest'
import { ERROR_CODE_DENIED, ERROR_CODE_RATE_LIMITED } from '../../src/mesh/constants.js'
import {
  cleanup,
  createHome,
  FIXTURES_DIR,
  type NodeProcess,
  resultText,
  spawnNode,
  tcpAddress,
  waitFor
} from '../helpers/index.js'
import { call, type MeshStatusPart, rawPeer, session } from './mesh-raw-peer.js'

afterEach(cleanup)

const PROVIDER = join(FIXTURES_DIR, 'mesh-provider.mjs')
const FAST_CATALOG = { catalog: { advertIntervalMs: 500, peerTtlMs: 3_000 } }

async function target(config: Record<string, unknown> = {}): Promise<{ node: NodeProcess; address: string }> {
  const home = await createHome({ config: { tools: [PROVIDER], ...config } })
  const node = await spawnNode({ home: home.dir, env: { MESH_TEST_NAME: 'target' } })
  return { node, address: tcpAddress(await node.status()) }
}

async function meshStatus(node: NodeProcess): Promise<MeshStatusPart> {
  const status = await node.status()
  // The gate's counters are node-wide: mesh_status.trust.
  return { ...(status.subsystems.mesh as MeshStatusPart), trust: status.trust } as MeshStatusPart
}

function toolNames(response: Record<string, unknown>): string[] {
  return ((response.result as { tools: Array<{ name: string }> }).tools ?? []).map((tool) => tool.name)
}

describe('the gate on /mcp+p2p calls', () => {
  it('denies a tool that is not exported, with the denied code, and counts it (control: an exported tool runs)', async () => {
    const { node, address } = await target()
    const s = await session(await rawPeer(), address)
    const denied = await call(s, 2, 'remote_secret', {})
    expect(denied.error).toMatchObject({ code: ERROR_CODE_DENIED })
    expect(String((denied.error as { message: string }).message)).toContain('not exported')
    const unknown = await call(s, 3, 'mesh_status', {})
    expect(unknown.error).toMatchObject({ code: ERROR_CODE_DENIED })
    expect((await call(s, 4, 'remote_double', { n: 2 })).result).toMatchObject({ structuredContent: { doubled: 4 } })
    const status = await meshStatus(node)
    expect(status.trust.inbound.call!.denied).toBe(2)
    expect(status.inbound.denied).toBe(2)
  })

  it('applies trust.allowPeers and trust.tools to listing and calling', async () => {
    const trusted = await rawPeer()
    const vip = await rawPeer()
    const stranger = await rawPeer()
    const { node, address } = await target({
      trust: {
        allowPeers: [trusted.peerId.toString(), vip.peerId.toString()],
        tools: { remote_slow: [vip.peerId.toString()] }
      }
    })
    const s = await session(stranger, address)
    s.send({ id: 2, method: 'tools/list', params: {} })
    expect(toolNames(await s.response(2))).toEqual([])
    const refused = await call(s, 3, 'remote_double', { n: 1 })
    expect(refused.error).toMatchObject({ code: ERROR_CODE_DENIED })
    expect(String((refused.error as { message: string }).message)).toContain('trust.allowPeers')

    const t = await session(trusted, address)
    t.send({ id: 2, method: 'tools/list', params: {} })
    const listed = toolNames(await t.response(2))
    expect(listed).toContain('remote_double')
    expect(listed).not.toContain('remote_slow')
    const perTool = await call(t, 3, 'remote_slow', { durationMs: 0 })
    expect(perTool.error).toMatchObject({ code: ERROR_CODE_DENIED })
    expect(String((perTool.error as { message: string }).message)).toContain('not allowed to call "remote_slow"')
    expect((await call(t, 4, 'remote_double', { n: 3 })).result).toMatchObject({ structuredContent: { doubled: 6 } })

    const v = await session(vip, address)
    expect((await call(v, 2, 'remote_slow', { durationMs: 0 })).result).toMatchObject({
      structuredContent: { done: true }
    })
    expect((await meshStatus(node)).trust.inbound.call!.denied).toBe(2)
  })

  it('counts the denial of a pushed task (a call with the task _meta key) under task-push', async () => {
    const { node, address } = await target()
    const s = await session(await rawPeer(), address)
    const denied = await call(s, 2, 'remote_secret', {}, { 'mcp-mesh/task': { id: 'x', owner: 'y' } })
    expect(denied.error).toMatchObject({ code: ERROR_CODE_DENIED })
    const status = await meshStatus(node)
    expect(status.trust.inbound['task-push']!.denied).toBe(1)
    expect(status.trust.inbound.call!.denied).toBe(0)
  })

  it('answers a peer over its request rate with the rate-limited code, counted by the gate', async () => {
    const { node, address } = await target({ protocol: { maxRequestsPerSecondPerPeer: 1 } })
    const s = await session(await rawPeer(), address)
    const responses = await Promise.all([1, 2, 3].map(async (n) => call(s, 10 + n, 'remote_double', { n })))
    expect(responses.some((r) => (r.error as { code?: number } | undefined)?.code === ERROR_CODE_RATE_LIMITED)).toBe(
      true
    )
    expect(responses.some((r) => r.result != null)).toBe(true)
    expect((await meshStatus(node)).trust.inbound.call!['rate-limited']).toBeGreaterThanOrEqual(1)
  })
})

describe('trust.sendTo (outbound allowlist)', () => {
  it('never lists, fetches from or calls a peer it does not name; calls go to the peer it names', async () => {
    const b = await target(FAST_CATALOG)
    const c = await target(FAST_CATALOG)
    const peerB = (await b.node.status()).peerId
    const peerC = (await c.node.status()).peerId
    const homeA = await createHome({ config: { ...FAST_CATALOG, trust: { tools: {}, sendTo: [peerC] } } })
    const a = await spawnNode({ home: homeA.dir, args: ['--bootstrap', b.address, '--bootstrap', c.address] })
    await waitFor(async () => (await a.status()).connectedPeers.length >= 2, { message: 'A connected to B and C' })
    await waitFor(async () => (await a.client.listTools()).tools.some((tool) => tool.name === 'remote_double'), {
      timeoutMs: 15_000,
      message: 'remote_double listed on A'
    })
    // Adverts of both B and C have reached A by now (each sends one per 500 ms).
    await waitFor(
      async () =>
        ((await meshStatus(a)) as unknown as { catalog: { advertsReceived: number } }).catalog.advertsReceived >= 8,
      { message: 'adverts received on A' }
    )
    for (let n = 0; n < 4; n++) {
      const result = (await a.client.callTool({ name: 'remote_double', arguments: { n } })) as CallToolResult
      expect(result.structuredContent).toEqual({ doubled: 2 * n, node: 'target' })
      expect(result._meta?.['mcp-mesh/peer']).toBe(peerC)
    }
    const peers = (await a.callOk('peer_list')).structuredContent as {
      peers: Array<{ peerId: string; inCatalog: boolean }>
    }
    expect(peers.peers.find((p) => p.peerId === peerB)?.inCatalog ?? false).toBe(false)
    expect(peers.peers.find((p) => p.peerId === peerC)?.inCatalog).toBe(true)
    // B never got a tools/list or a call from A.
    expect((await meshStatus(b.node)).inbound).toMatchObject({ calls: 0 })
    const direct = (await a.client.callTool({
      name: 'mesh_call',
      arguments: { peer: peerB, tool: 'remote_double', arguments: { n: 1 } }
    })) as CallToolResult
    expect(direct.isError).toBe(true)
    expect(resultText(direct)).toContain('trust.sendTo')
    expect((await meshStatus(a)).trust.outbound.call).toBeGreaterThanOrEqual(1)
    expect((await meshStatus(b.node)).inbound).toMatchObject({ calls: 0 })
  })
})
