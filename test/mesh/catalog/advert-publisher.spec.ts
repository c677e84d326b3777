/**
 * A node that publishes its record before any peer is subscribed publishes
 * it again when the first one subscribes. With gossipsub's emitSelf the
 * node itself is among a publish's recipients: it must not count, or that
 * record would never be gossiped (issue 11: at N = 50 a newcomer's record
 * reached nobody and members listed it only once connected).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { AdvertPublisher } from '../../../src/mesh/catalog/advert-publisher.js'
import { emptyStats } from '../../../src/mesh/catalog/types.js'
import { catalogTopic } from '../../../src/mesh/topics.js'

const TOPIC = catalogTopic('default')

async function newPeer(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

async function setup(recipients: (self: PeerId, other: PeerId) => PeerId[]) {
  const self = await newPeer()
  const other = await newPeer()
  const publish = vi.fn(async () => ({ recipients: recipients(self, other) }))
  const publisher = new AdvertPublisher({
    meshName: 'default',
    advertIntervalMs: 3_600_000,
    peerTtlMs: 3 * 3_600_000,
    capacity: () => ({ maxConcurrency: 1 }),
    isExported: () => false,
    libp2p: { peerId: self, services: { pubsub: { publish } }, getMultiaddrs: () => [] } as never,
    registry: { list: () => [] },
    topic: TOPIC,
    stats: emptyStats()
  })
  return { publisher, publish, other }
}

describe('AdvertPublisher', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('publishes again when the first peer subscribes if only this node (emitSelf) got the record', async () => {
    vi.useFakeTimers()
    const h = await setup((self) => [self])
    h.publisher.start()
    await vi.advanceTimersByTimeAsync(10)
    expect(h.publish).toHaveBeenCalledTimes(1)
    h.publisher.subscriptionChanged({ peerId: h.other, subscriptions: [{ topic: TOPIC, subscribe: true }] })
    await vi.advanceTimersByTimeAsync(1_100)
    expect(h.publish).toHaveBeenCalledTimes(2)
    h.publisher.stop()
  })

  it('does not publish again when a peer already got the record', async () => {
    vi.useFakeTimers()
    const h = await setup((self, other) => [self, other])
    h.publisher.start()
    await vi.advanceTimersByTimeAsync(10)
    h.publisher.subscriptionChanged({ peerId: h.other, subscriptions: [{ topic: TOPIC, subscribe: true }] })
    await vi.advanceTimersByTimeAsync(1_100)
    expect(h.publish).toHaveBeenCalledTimes(1)
    h.publisher.stop()
  })
})
