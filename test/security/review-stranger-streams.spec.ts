/**
 * Red-team review: with `trust.allowPeers` set, a peer outside it is served
 * a session (it lists nothing and every call is denied), and its streams
 * counted toward the node-wide stream cap. Strangers (anyone who can
 * connect; 32 connections per IP, 8 streams each) could fill the cap, and
 * then every new stream of an allowlisted peer was refused as busy. The
 * streams of peers the gate does not admit now have their own small share
 * of the cap; the admitted peers' share is theirs. Control: a stranger still
 * gets its one session (denied calls, as before), and the friend is served.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ERROR_CODE_BUSY } from '../../src/mesh/constants.js'
import { cleanup, createHome, spawnNode, tcpAddress } from '../helpers/index.js'
import { openStream, rawPeer, session } from './mesh-raw-peer.js'

afterEach(cleanup)

describe('inbound streams of peers outside trust.allowPeers', () => {
  it('cannot take the stream slots of allowlisted peers', async () => {
    const friend = await rawPeer()
    const home = await createHome({
      config: { trust: { allowPeers: [friend.peerId.toString()] }, protocol: { maxInboundStreams: 4 } }
    })
    const node = await spawnNode({ home: home.dir })
    const address = tcpAddress(await node.status())
    const stranger = await rawPeer()
    // Control: the stranger's first session works as before (it is denied calls, not streams).
    const first = await session(stranger, address)
    first.send({ id: 2, method: 'tools/list', params: {} })
    expect((await first.response(2)).result).toMatchObject({ tools: [] })
    // The stranger fills what is left of the node-wide cap.
    // A refused stream is answered with a busy frame and closed; when the close wins the race
    // with the dialler's protocol negotiation, opening it fails instead: refused either way.
    const more = await Promise.all([1, 2, 3].map(async () => openStream(stranger, address).catch(() => undefined)))
    expect(more).toHaveLength(3)

    const s = await session(friend, address)
    s.send({ id: 2, method: 'tools/list', params: {} })
    const listed = await s.response(2)
    expect(listed.error).toBeUndefined()
    expect((listed.result as { tools: Array<{ name: string }> }).tools.map((t) => t.name)).toContain('echo')
    // The stranger's extra streams were the ones refused (busy, counted).
    const refused = more.filter(
      (m) =>
        m == null ||
        m.frames.some((f) => f.id === null && (f.error as { code?: number } | undefined)?.code === ERROR_CODE_BUSY)
    )
    expect(refused.length).toBeGreaterThan(0)
  }, 60_000)
})
