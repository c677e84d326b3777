/**
 * Red-team review: the bytes of complete requests a peer has in flight.
 * Partial frames are budgeted, but a complete `tools/call` is held (its
 * parsed arguments and `_meta`) until it is answered: with `sleep` (exported
 * by default) a peer kept up to 64 calls of up to a frame each running per
 * peer, and 256 node-wide (4 GiB at the default 16 MiB frame), for up to
 * the request timeout. The bytes of calls held are now budgeted per peer
 * and node-wide; a call beyond the budget is refused busy at once.
 * Here the node runs with a small heap and 4 MiB frames: before the fix,
 * 72 held calls (~250 MiB) crashed it. Control: after the flood the node is
 * alive and an ordinary call runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERROR_CODE_BUSY } from '../../src/mesh/constants.js'
import { cleanup, createHome, type NodeProcess, spawnNode, tcpAddress } from '../helpers/index.js'
import { call, rawPeer, session, type Watched } from './mesh-raw-peer.js'

const FRAME = 4 * 1024 * 1024
let node: NodeProcess
let peer: Watched

beforeAll(async () => {
  node = await spawnNode({
    home: (await createHome({ config: { protocol: { maxFrameBytes: FRAME } } })).dir,
    env: { NODE_OPTIONS: '--max-old-space-size=160' }
  })
  peer = await session(await rawPeer(), tcpAddress(await node.status()))
}, 60_000)

afterAll(cleanup)

describe('complete requests a peer holds in flight', () => {
  it('are bounded in bytes: the node survives a flood of huge sleeping calls', async () => {
    const pad = 'x'.repeat(FRAME - 64 * 1024)
    const ids = Array.from({ length: 72 }, (_, i) => 100 + i)
    for (const id of ids) {
      peer.send({ id, method: 'tools/call', params: { name: 'sleep', arguments: { durationMs: 30_000, pad } } })
    }
    // tools/list is not queued behind the calls: its answer means every call before it was taken or refused.
    peer.send({ id: 2, method: 'tools/list', params: {} })
    const outcome = await Promise.race([node.exited.then(() => 'crashed'), peer.response(2).then(() => 'answered')])
    expect(outcome).toBe('answered')
    const busy = peer.frames.filter(
      (frame) =>
        ids.includes(frame.id as number) && (frame.error as { code?: number } | undefined)?.code === ERROR_CODE_BUSY
    )
    expect(busy.length).toBeGreaterThan(0)
    // Control: alive, and an ordinary call from another peer runs.
    const other = await session(await rawPeer(), tcpAddress(await node.status()))
    expect((await call(other, 3, 'echo', { message: 'still here' })).result).toBeDefined()
  }, 90_000)
})
