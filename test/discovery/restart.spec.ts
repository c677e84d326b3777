import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, waitFor } from '../helpers/index.js'
import { type MeshDaemon, meshDaemon, waitConnected } from './harness.js'

afterEach(cleanup)

describe('known peers survive restarts', () => {
  it('a node with an empty bootstrap list reconnects from its stored peers', async () => {
    const a = await meshDaemon()
    const b = await meshDaemon()
    const c = await meshDaemon({ args: ['--bootstrap', await a.address()] })
    // B connects to A and C by hand, so it learns them without any bootstrap list.
    await b.ok('peer_connect', { address: await a.address() })
    await b.ok('peer_connect', { address: await c.address() })
    await waitConnected(b, [a.peerId, c.peerId])
    // Identify has recorded them as mesh members in B's peer store.
    await waitConnectedKnown(b, 2)

    const home = b.home
    await b.stop()
    expect((await home.readConfig()).bootstrap).toEqual([])
    const again = await meshDaemon({ home })
    await waitConnected(again, [a.peerId, c.peerId], 60_000)
    const discovery = await again.discovery()
    expect(discovery.bootstrap).toEqual([])
    // Both came back from the persistent peer store (re-dialled by discovery's
    // known peers, or by libp2p for peers kad-dht tagged keep-alive, whichever is
    // first); a peer libp2p re-dialled is counted again once identify has run on
    // the new connection, so wait for it rather than read the count once.
    await waitConnectedKnown(again, 2)
  }, 120_000)
})

async function waitConnectedKnown(node: MeshDaemon, count: number): Promise<void> {
  await waitFor(async () => (await node.discovery()).knownPeers.stored >= count, {
    timeoutMs: 10_000,
    intervalMs: 50,
    message: `${count} known peers stored`
  })
}
