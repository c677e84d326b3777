/**
 * Attacks on `/mcp+p2p` streams by a raw libp2p peer against a real node:
 * finished sessions that hold stream slots, partial frames with no end,
 * partial frames that add up, and peer IDs minted to multiply per-peer limits.
 * Each attack has a positive control (honest traffic on the same node works).
 */
import type { Libp2p } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import { ERROR_CODE_BUSY } from '../../src/mesh/constants.js'
import {
  cleanup,
  createHome,
  FIXTURES_DIR,
  type NodeProcess,
  spawnNode,
  tcpAddress,
  waitFor
} from '../helpers/index.js'
import { call, type MeshStatusPart, openStream, rawPeer, session } from './mesh-raw-peer.js'

afterEach(cleanup)

async function target(protocol: Record<string, unknown> = {}): Promise<{ node: NodeProcess; address: string }> {
  const home = await createHome({ config: { tools: [`${FIXTURES_DIR}/mesh-provider.mjs`], protocol } })
  const node = await spawnNode({ home: home.dir, env: { MESH_TEST_NAME: 'target' } })
  return { node, address: tcpAddress(await node.status()) }
}

async function meshStatus(node: NodeProcess): Promise<MeshStatusPart> {
  const status = await node.status()
  // The gate's counters are node-wide: mesh_status.trust.
  return { ...(status.subsystems.mesh as MeshStatusPart), trust: status.trust } as MeshStatusPart
}

/** The header and first `sent` bytes of a frame that claims `length` bytes. */
function partialFrame(length: number, sent: number): Uint8Array {
  const bytes = new Uint8Array(4 + sent).fill(0x20)
  new DataView(bytes.buffer).setUint32(0, length, false)
  return bytes
}

describe('/mcp+p2p stream slots: half-closed sessions', () => {
  it('closes its side once the remote ends its write side, so 12 sessions on one connection all work', async () => {
    const { node, address } = await target()
    const peer: Libp2p = await rawPeer()
    // libp2p allows 8 inbound streams per connection; a session left half-open holds one for the idle timeout.
    for (let i = 0; i < 12; i++) {
      const s = await session(peer, address)
      s.send({ id: 2, method: 'tools/call', params: { name: 'remote_double', arguments: { n: i } } })
      await s.stream.close()
      const response = await s.response(2)
      expect(response.result).toMatchObject({ structuredContent: { doubled: 2 * i, node: 'target' } })
      await waitFor(() => s.closed(), { message: `session ${i} closed by the node`, timeoutMs: 5_000 })
    }
    expect(peer.getConnections()).toHaveLength(1)
    await waitFor(async () => (await meshStatus(node)).inbound.streams === 0, { message: 'no inbound streams held' })
  })

  it('answers what is in flight before closing, and keeps a session whose remote still writes (controls)', async () => {
    const { address } = await target()
    const peer = await rawPeer()
    // In flight when the remote ends its side: answered, then closed.
    const slow = await session(peer, address)
    slow.send({ id: 2, method: 'tools/call', params: { name: 'remote_slow', arguments: { durationMs: 300 } } })
    await slow.stream.close()
    expect((await slow.response(2)).result).toMatchObject({ structuredContent: { done: true } })
    await waitFor(() => slow.closed(), { message: 'closed after the answer' })
    // A session whose remote keeps its side open stays usable after a call.
    const open = await session(peer, address)
    expect((await call(open, 2, 'remote_double', { n: 1 })).result).toMatchObject({ structuredContent: { doubled: 2 } })
    expect((await call(open, 3, 'remote_double', { n: 2 })).result).toMatchObject({ structuredContent: { doubled: 4 } })
    expect(open.closed()).toBe(false)
  })
})

describe('/mcp+p2p partial frames', () => {
  it('aborts a stream whose frame is not complete within the frame timeout, counted as a violation', async () => {
    const { node, address } = await target({ frameTimeoutMs: 1_000 })
    const peer = await rawPeer()
    const attack = await openStream(peer, address)
    attack.stream.send(partialFrame(100, 10))
    await waitFor(() => attack.closed(), { message: 'stream aborted after the frame timeout', timeoutMs: 5_000 })
    const status = await meshStatus(node)
    expect(status.inbound.violations['frame-timeout']).toBeGreaterThanOrEqual(1)
    expect(status.inbound.partialFrameBytes).toBe(0)
    expect(status.protocol).toMatchObject({ frameTimeoutMs: 1_000 })

    // Control: a frame sent in two parts well within the deadline is served.
    const honest = await openStream(peer, address)
    const body = new TextEncoder().encode(JSON.stringify({ jsonrpc: '2.0', ...initialize(1) }))
    const frame = new Uint8Array(4 + body.byteLength)
    new DataView(frame.buffer).setUint32(0, body.byteLength, false)
    frame.set(body, 4)
    honest.stream.send(frame.subarray(0, 20))
    await waitFor(async () => (await meshStatus(node)).inbound.partialFrameBytes > 0, { message: 'first part held' })
    honest.stream.send(frame.subarray(20))
    expect((await honest.response(1)).result).toBeDefined()
  })

  it('aborts the stream whose partial frames take its peer over the byte budget; the others keep working', async () => {
    const budget = 64 * 1024
    const { node, address } = await target({ maxPartialFrameBytesPerPeer: budget })
    const peer = await rawPeer()
    // Stream 1: a padded initialize of 60,000 bytes, of which 40,000 are sent now.
    const first = await openStream(peer, address)
    const json = JSON.stringify({ jsonrpc: '2.0', ...initialize(1) })
    const body = new TextEncoder().encode(json.padEnd(60_000, ' '))
    const frame = new Uint8Array(4 + body.byteLength)
    new DataView(frame.buffer).setUint32(0, body.byteLength, false)
    frame.set(body, 4)
    first.stream.send(frame.subarray(0, 40_000))
    await waitFor(async () => (await meshStatus(node)).inbound.partialFrameBytes >= 39_000, {
      message: 'first partial frame buffered'
    })
    // Stream 2 of the same peer: 40,000 more would exceed 64 KiB.
    const second = await openStream(peer, address)
    second.stream.send(partialFrame(60_000, 40_000))
    await waitFor(() => second.closed(), { message: 'over-budget stream aborted' })
    expect((await meshStatus(node)).inbound.violations['buffer-budget']).toBeGreaterThanOrEqual(1)
    // Control: stream 1 completes its frame and is answered.
    first.stream.send(frame.subarray(40_000))
    expect((await first.response(1)).result).toBeDefined()
    expect(first.closed()).toBe(false)
  })
})

describe('/mcp+p2p node-wide caps (fresh peer IDs buy nothing)', () => {
  it('refuses inbound streams beyond the node-wide cap with a busy error, counted by the gate', async () => {
    const { node, address } = await target({ maxInboundStreams: 2 })
    const held = [await session(await rawPeer(), address), await session(await rawPeer(), address)]
    // A refused stream is answered with a busy frame and closed. When the close arrives with the
    // protocol's acknowledgement, the dialler's negotiation fails instead (libp2p cannot hand back
    // bytes read together with the remote's close): refused either way. Fresh peers until one
    // reads the frame (each refused stream is closed at once, so none holds a slot).
    let refusal: Record<string, unknown> | undefined
    for (let attempt = 0; attempt < 12 && refusal == null; attempt++) {
      const third = await openStream(await rawPeer(), address).catch(() => undefined)
      if (third == null) continue
      refusal = await waitFor(() => third.frames[0], { message: 'busy refusal' })
      await waitFor(() => third.closed(), { message: 'refused stream closed' })
    }
    expect(refusal).toMatchObject({ id: null, error: { code: ERROR_CODE_BUSY } })
    expect(String((refusal!.error as { message: string }).message)).toContain('inbound /mcp+p2p streams')
    const status = await meshStatus(node)
    expect(status.inbound.refusedStreams).toBeGreaterThanOrEqual(1)
    expect(status.trust.inbound.call!.busy).toBeGreaterThanOrEqual(1)
    // Control: once a session ends, a new peer gets a stream.
    await held[0]!.stream.close()
    await waitFor(async () => (await meshStatus(node)).inbound.streams < 2, { message: 'a slot freed' })
    const next = await session(await rawPeer(), address)
    expect((await call(next, 2, 'remote_double', { n: 4 })).result).toMatchObject({ structuredContent: { doubled: 8 } })
  })

  it('refuses inbound calls beyond the node-wide cap as busy, whichever peer sends them', async () => {
    const { node, address } = await target({ maxInboundCalls: 2 })
    const a = await session(await rawPeer(), address)
    const b = await session(await rawPeer(), address)
    a.send({ id: 2, method: 'tools/call', params: { name: 'remote_slow', arguments: { durationMs: 1_500 } } })
    b.send({ id: 2, method: 'tools/call', params: { name: 'remote_slow', arguments: { durationMs: 1_500 } } })
    await waitFor(async () => (await meshStatus(node)).inbound.busy === 0 && (await inFlight(node)) === 2, {
      message: 'two calls in flight'
    })
    const c = await session(await rawPeer(), address)
    const refused = await call(c, 2, 'remote_double', { n: 1 })
    expect(refused.error).toMatchObject({ code: ERROR_CODE_BUSY })
    expect((await meshStatus(node)).trust.inbound.call!.busy).toBeGreaterThanOrEqual(1)
    // Control: once the slow calls finish, the same peer is served.
    await a.response(2)
    await b.response(2)
    expect((await call(c, 3, 'remote_double', { n: 1 })).result).toMatchObject({ structuredContent: { doubled: 2 } })
  })
})

async function inFlight(node: NodeProcess): Promise<number> {
  const mesh = (await node.status()).subsystems.mesh as { inbound: { inFlight: number; queued: number } }
  return mesh.inbound.inFlight + mesh.inbound.queued
}

function initialize(id: number): Record<string, unknown> {
  return {
    id,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-peer', version: '0.1' } }
  }
}
