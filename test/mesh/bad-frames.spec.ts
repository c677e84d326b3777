import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { CallToolResult } from '@modelcontextprotocol/server'
import type { Libp2p } from 'libp2p'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MCP_P2P_PROTOCOL } from '../../src/mesh/constants.js'
import { encodeFrame, FrameDecoder } from '../../src/mesh/frame.js'
import {
  cleanup,
  createHome,
  FIXTURES_DIR,
  type NodeProcess,
  spawnNode,
  tcpAddress,
  waitFor,
  rawPeer
} from '../helpers/index.js'

afterEach(cleanup)

/** Collects every frame the node sends back on `stream`, and whether the stream closed. */
function watch(stream: Stream): { frames: unknown[]; closed: () => boolean } {
  const decoder = new FrameDecoder(16 * 1024 * 1024)
  const frames: unknown[] = []
  let closed = false
  stream.addEventListener('message', (event) => {
    for (const frame of decoder.push(event.data)) frames.push(JSON.parse(new TextDecoder().decode(frame)))
  })
  stream.addEventListener('close', () => {
    closed = true
  })
  return { frames, closed: () => closed }
}

describe('/mcp+p2p fails closed on bad frames', () => {
  let target: NodeProcess
  let address: string
  let peer: Libp2p

  beforeEach(async () => {
    const home = await createHome({ config: { tools: [`${FIXTURES_DIR}/mesh-provider.mjs`] } })
    target = await spawnNode({ home: home.dir, env: { MESH_TEST_NAME: 'target' } })
    address = tcpAddress(await target.status())
    peer = await rawPeer()
  })

  it('closes the stream on an oversized frame without allocating it', async () => {
    const stream = await peer.dialProtocol(multiaddr(address), MCP_P2P_PROTOCOL)
    const seen = watch(stream)
    // Claims 4 GiB - 1: must be refused from the header alone.
    stream.send(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x7b]))
    await waitFor(() => seen.closed(), { message: 'stream closed after oversized frame' })
    const mesh = (await target.status()).subsystems.mesh as { inbound: { violations: Record<string, number> } }
    expect(mesh.inbound.violations['oversized-frame']).toBeGreaterThanOrEqual(1)
  })

  it('closes the stream on garbage bytes', async () => {
    const stream = await peer.dialProtocol(multiaddr(address), MCP_P2P_PROTOCOL)
    const seen = watch(stream)
    stream.send(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
    await waitFor(() => seen.closed(), { message: 'stream closed after garbage' })
  })

  it('answers invalid JSON and non-JSON-RPC with JSON-RPC errors, then serves a legacy client', async () => {
    const stream = await peer.dialProtocol(multiaddr(address), MCP_P2P_PROTOCOL)
    const seen = watch(stream)
    const max = 16 * 1024 * 1024
    stream.send(encodeFrame('{not json', max))
    stream.send(encodeFrame(JSON.stringify({ hello: 'world', id: 7 }), max))
    await waitFor(() => seen.frames.length >= 2, { message: 'two error responses' })
    expect(seen.frames[0]).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } })
    expect(seen.frames[1]).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32600 } })
    expect(seen.closed()).toBe(false)

    // The same stream still speaks MCP: a 2024-11-05 (legacy) lifecycle works.
    stream.send(
      encodeFrame(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2024-11-05',
            capabilities: {},
            clientInfo: { name: 'legacy-peer', version: '0.1' }
          }
        }),
        max
      )
    )
    await waitFor(() => seen.frames.length >= 3, { message: 'initialize response' })
    expect(seen.frames[2]).toMatchObject({ id: 1, result: { protocolVersion: '2024-11-05' } })
    stream.send(encodeFrame(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), max))
    stream.send(encodeFrame(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }), max))
    stream.send(
      encodeFrame(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 3,
          method: 'tools/call',
          params: { name: 'remote_double', arguments: { n: 5 } }
        }),
        max
      )
    )
    await waitFor(() => seen.frames.length >= 5, { message: 'tools/list and tools/call responses' })
    const byId = new Map(seen.frames.map((f) => [(f as { id: number }).id, f as { result: Record<string, unknown> }]))
    const names = (byId.get(2)!.result.tools as Array<{ name: string }>).map((t) => t.name)
    expect(names).toContain('remote_double')
    expect(names).not.toContain('remote_secret')
    expect(names).not.toContain('mesh_status')
    expect(byId.get(3)?.result.structuredContent).toEqual({ doubled: 10, node: 'target' })
  })

  it('keeps serving other peers after a flood of bad streams', async () => {
    for (let i = 0; i < 5; i++) {
      const stream = await peer.dialProtocol(multiaddr(address), MCP_P2P_PROTOCOL)
      const seen = watch(stream)
      stream.send(new Uint8Array([0x7f, 0xff, 0xff, 0xff]))
      await waitFor(() => seen.closed())
    }
    const other = await spawnNode({ home: (await createHome()).dir, args: ['--bootstrap', address] })
    await waitFor(async () => (await other.client.listTools()).tools.some((t) => t.name === 'remote_double'), {
      timeoutMs: 15_000
    })
    const result = (await other.client.callTool({ name: 'remote_double', arguments: { n: 3 } })) as CallToolResult
    expect(result.structuredContent).toEqual({ doubled: 6, node: 'target' })
  })
})
