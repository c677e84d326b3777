/**
 * Red-team review: the node-wide budget of partial-frame bytes was shared by
 * every peer, admitted or not. With `trust.allowPeers` set, strangers (peer
 * IDs are free) could each hold partial frames up to their per-peer budget
 * for the frame timeout, again and again, until the node-wide budget was
 * full; then any large frame of an allowlisted peer aborted its stream
 * (`buffer-budget`). Strangers now share an eighth of the node-wide budget.
 * Control: the friend's large frame arrives in two parts and is answered.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createHome, type NodeProcess, spawnNode, tcpAddress, waitFor } from '../helpers/index.js'
import { openStream, rawPeer } from './mesh-raw-peer.js'

afterEach(cleanup)

const NODE_BUDGET = 128 * 1024

function partialFrame(length: number, sent: number): Uint8Array {
  const bytes = new Uint8Array(4 + sent).fill(0x20)
  new DataView(bytes.buffer).setUint32(0, length, false)
  return bytes
}

async function partialBytes(node: NodeProcess): Promise<number> {
  return ((await node.status()).subsystems.mesh as { inbound: { partialFrameBytes: number } }).inbound.partialFrameBytes
}

describe('partial frames of peers outside trust.allowPeers', () => {
  it('cannot take the node-wide partial-frame budget of allowlisted peers', async () => {
    const friend = await rawPeer()
    const home = await createHome({
      config: {
        trust: { allowPeers: [friend.peerId.toString()] },
        protocol: { maxPartialFrameBytes: NODE_BUDGET, frameTimeoutMs: 30_000 }
      }
    })
    const node = await spawnNode({ home: home.dir })
    const address = tcpAddress(await node.status())
    // Two strangers each start a 100,000-byte frame and send half of it.
    const strangers = await Promise.all([1, 2].map(async () => openStream(await rawPeer(), address)))
    for (const s of strangers) s.stream.send(partialFrame(100_000, 50_000))
    await waitFor(async () => strangers.every((s) => s.closed()) || (await partialBytes(node)) >= 99_000 || undefined, {
      message: 'the strangers partial frames taken or refused'
    })

    // The friend's padded initialize of 60,000 bytes, in two parts.
    const s = await openStream(friend, address)
    const json = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'friend', version: '0.1' } }
    })
    const body = new TextEncoder().encode(json.padEnd(60_000, ' '))
    const frame = new Uint8Array(4 + body.byteLength)
    new DataView(frame.buffer).setUint32(0, body.byteLength, false)
    frame.set(body, 4)
    const before = await partialBytes(node)
    s.stream.send(frame.subarray(0, 40_000))
    await waitFor(async () => s.closed() || (await partialBytes(node)) >= before + 39_000 || undefined, {
      message: "the friend's first part taken or refused"
    })
    expect(s.closed()).toBe(false)
    s.stream.send(frame.subarray(40_000))
    expect((await s.response(1)).result).toBeDefined()
  }, 60_000)
})
