import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initHome, loadConfig } from '../../src/config/load.js'
import { MeshNode } from '../../src/node/mesh-node.js'
import { cleanup, createTempDir, waitFor } from '../helpers/index.js'
import { Attacker, advertTool, catalogTopic } from './attacker.js'

/**
 * Bad senders are penalised: a peer that publishes invalid records on the
 * catalog topic loses gossipsub score until it is graylisted (its RPCs are
 * then ignored), while a valid advert from the same peer is accepted and
 * costs it nothing (the positive control). A real node in process, a raw
 * libp2p attacker, 127.0.0.1, mDNS off.
 */
describe('gossip penalties for bad senders', () => {
  let node: MeshNode
  let attacker: Attacker

  beforeAll(async () => {
    const home = join(await createTempDir('mcp-mesh-gossip-penalty-'), 'home')
    await initHome(home)
    const loaded = await loadConfig(home, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false } })
    node = new MeshNode({ loaded, api: false })
    await node.start()
    attacker = await Attacker.create({ tools: [] })
    const address = node.libp2p.getMultiaddrs()[0]!.toString()
    await attacker.dial(address)
    attacker.libp2p.services.pubsub.subscribe(catalogTopic(attacker.mesh))
    await waitFor(
      async () =>
        attacker.libp2p.services.pubsub
          .getSubscribers(catalogTopic(attacker.mesh))
          .some((peer) => peer.equals(node.peerId)),
      { timeoutMs: 10_000, message: 'the node is subscribed to the catalog topic, as the attacker sees it' }
    )
  }, 30_000)

  afterAll(async () => {
    await attacker?.stop()
    await node?.stop()
    await cleanup()
  })

  it('accepts a valid advert at no cost, then graylists the sender of invalid ones', async () => {
    // GossipSub's public interface does not type the score, the implementation has it.
    const pubsub = node.libp2p.services.pubsub as unknown as { getScore(peer: string): number }
    const id = attacker.peerId
    // Positive control: a well-formed, signed advert is listed and leaves the score alone.
    await attacker.advertise({ tools: [advertTool('penalty_probe')] })
    await waitFor(
      async () =>
        node.services.mesh
          .port()
          .peers()
          .some((peer) => peer.peerId === id),
      {
        timeoutMs: 10_000,
        message: "the attacker's valid advert is in the catalog"
      }
    )
    expect(pubsub.getScore(id)).toBeGreaterThanOrEqual(0)

    // The attack: records the catalog's validator rejects (not an advert at all).
    for (let i = 0; i < 5; i++) await attacker.publish(catalogTopic(attacker.mesh), { garbage: i, pad: 'x'.repeat(64) })
    await waitFor(async () => pubsub.getScore(id) < -80, {
      timeoutMs: 10_000,
      message: 'the sender of invalid records is below the graylist threshold'
    })
    expect(node.status().trust.inbound['gossip-catalog']!.denied).toBeGreaterThanOrEqual(1)
  }, 40_000)
})
