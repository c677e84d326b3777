/**
 * Attacks on the catalog topic, at the level of the catalog's gossipsub
 * validator and receiver (a real gossip replay needs gossipsub's seen-cache
 * to expire, minutes): a signed advert replayed after its peer left the
 * catalog, replays of older sequence numbers, future-dated adverts,
 * garbage, a full catalog, and peers the gate does not admit or send to.
 * Positive controls: a fresh advert is accepted and listed.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Tool as McpTool } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { ADVERT_VERSION, type CatalogAdvert, encodeAdvert } from '../../src/mesh/advert.js'
import { AdvertReceiver } from '../../src/mesh/catalog/advert-receiver.js'
import { DescriptorStore } from '../../src/mesh/catalog/descriptors.js'
import { PeerTable } from '../../src/mesh/catalog/peers.js'
import { emptyStats } from '../../src/mesh/catalog/types.js'
import { ADVERT_MAX_AGE_SLACK_MS, MAX_ADVERT_BYTES } from '../../src/mesh/constants.js'
import { catalogTopic } from '../../src/mesh/topics.js'
import { TrustGate } from '../../src/trust/index.js'

const TOPIC = catalogTopic('default')
const INTERVAL = 5_000
const MAX_AGE = 2 * INTERVAL + ADVERT_MAX_AGE_SLACK_MS

async function newPeer(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

function advert(from: PeerId, seq: number, ts: number, extra: Partial<CatalogAdvert> = {}): CatalogAdvert {
  return {
    v: ADVERT_VERSION,
    mesh: 'default',
    peerId: from.toString(),
    seq,
    ts,
    capacity: { maxConcurrency: 1 },
    load: { inFlight: 0, queued: 0 },
    tools: [],
    ...extra
  }
}

function signed(from: PeerId, data: Uint8Array): Message {
  return { type: 'signed', topic: TOPIC, from, data, sequenceNumber: 1n } as unknown as Message
}

function setup(options: { trust?: ConstructorParameters<typeof TrustGate>[0]['trust']; maxPeers?: number } = {}) {
  let clock = 1_700_000_000_000
  const stats = emptyStats()
  const peers = new PeerTable(60_000, () => {})
  const gate = new TrustGate(
    { export: { tools: [] }, trust: options.trust ?? { tools: {} } },
    { tools: { get: () => undefined } }
  )
  const descriptors = new DescriptorStore({
    peers,
    stats,
    listTools: async () => [],
    changed: () => {},
    running: () => true
  })
  const receiver = new AdvertReceiver({
    self: 'self',
    meshName: 'default',
    topic: TOPIC,
    peers,
    descriptors,
    stats,
    changed: () => {},
    storeAddrs: async () => {},
    gate,
    advertIntervalMs: INTERVAL,
    maxPeers: options.maxPeers,
    now: () => clock
  })
  /** Runs a message through the validator and, when accepted, the receiver (as gossipsub does). */
  const deliver = (message: Message): TopicValidatorResult => {
    const verdict = receiver.validate((message as unknown as { from: PeerId }).from, message)
    if (verdict === TopicValidatorResult.Accept) receiver.receive(message)
    return verdict
  }
  return {
    stats,
    peers,
    gate,
    deliver,
    now: () => clock,
    advance: (ms: number) => {
      clock += ms
    }
  }
}

describe('catalog adverts: freshness and replays', () => {
  it('accepts a fresh advert (control) and ignores its replay once stale, even after the peer left the catalog', async () => {
    const h = setup()
    const peer = await newPeer()
    const original = signed(peer, encodeAdvert(advert(peer, 10, h.now())))
    expect(h.deliver(original)).toBe(TopicValidatorResult.Accept)
    expect(h.peers.has(peer.toString())).toBe(true)
    // The peer goes away; its entry expires. Minutes later gossipsub's seen-cache has forgotten the message.
    h.peers.clear()
    h.advance(MAX_AGE + 1)
    expect(h.deliver(original)).toBe(TopicValidatorResult.Ignore)
    expect(h.peers.has(peer.toString())).toBe(false)
    expect(h.stats.advertsStale).toBe(1)
  })

  it('ignores an advert whose sequence number is not above the last accepted, after the entry expired too', async () => {
    const h = setup()
    const peer = await newPeer()
    expect(h.deliver(signed(peer, encodeAdvert(advert(peer, 10, h.now()))))).toBe(TopicValidatorResult.Accept)
    h.peers.clear()
    h.advance(1_000)
    // Still within the freshness window, but older than what was accepted.
    expect(h.deliver(signed(peer, encodeAdvert(advert(peer, 9, h.now() - 500))))).toBe(TopicValidatorResult.Ignore)
    expect(h.deliver(signed(peer, encodeAdvert(advert(peer, 10, h.now() - 1_000))))).toBe(TopicValidatorResult.Ignore)
    expect(h.peers.has(peer.toString())).toBe(false)
    // Control: the next advert is taken.
    expect(h.deliver(signed(peer, encodeAdvert(advert(peer, 11, h.now()))))).toBe(TopicValidatorResult.Accept)
    expect(h.peers.get(peer.toString())?.seq).toBe(11)
  })

  it('ignores an advert dated too far in the future', async () => {
    const h = setup()
    const peer = await newPeer()
    expect(h.deliver(signed(peer, encodeAdvert(advert(peer, 1, h.now() + 60_000))))).toBe(TopicValidatorResult.Ignore)
    expect(h.peers.size).toBe(0)
    expect(h.deliver(signed(peer, encodeAdvert(advert(peer, 2, h.now() + 5_000))))).toBe(TopicValidatorResult.Accept)
  })
})

describe('catalog adverts: invalid ones are rejected and counted by the gate', () => {
  it('rejects garbage, oversized, unsigned, mis-signed and foreign-mesh adverts', async () => {
    const h = setup()
    const peer = await newPeer()
    const other = await newPeer()
    const garbage = signed(peer, new TextEncoder().encode('{"v":1,"mesh":'))
    const oversized = signed(peer, new Uint8Array(MAX_ADVERT_BYTES + 1).fill(0x20))
    const unsigned = { ...signed(peer, encodeAdvert(advert(peer, 1, h.now()))), type: 'unsigned' } as unknown as Message
    const misSigned = signed(peer, encodeAdvert(advert(other, 1, h.now())))
    const foreign = signed(peer, encodeAdvert(advert(peer, 1, h.now(), { mesh: 'other' })))
    const tooManyTools = signed(
      peer,
      encodeAdvert(
        advert(peer, 1, h.now(), {
          tools: Array.from({ length: 1_025 }, (_, i) => ({
            name: `t${i}`,
            schemaHash: '0'.repeat(64),
            tags: [],
            category: 'c',
            priority: 5,
            timeoutMs: 1
          }))
        })
      )
    )
    for (const message of [garbage, oversized, unsigned, misSigned, foreign, tooManyTools]) {
      expect(h.deliver(message)).toBe(TopicValidatorResult.Reject)
    }
    expect(h.peers.size).toBe(0)
    expect(h.gate.stats().inbound['gossip-catalog'].denied).toBe(6)
    expect(h.stats.advertsRejected).toBe(6)
  })
})

describe('catalog adverts: the gate and the caps', () => {
  it('ignores adverts of peers trust.allowPeers leaves out, counted as denied', async () => {
    const allowed = await newPeer()
    const stranger = await newPeer()
    const h = setup({ trust: { tools: {}, allowPeers: [allowed.toString()] } })
    expect(h.deliver(signed(stranger, encodeAdvert(advert(stranger, 1, h.now()))))).toBe(TopicValidatorResult.Ignore)
    expect(h.deliver(signed(allowed, encodeAdvert(advert(allowed, 1, h.now()))))).toBe(TopicValidatorResult.Accept)
    expect(h.peers.list().map((p) => p.peerId)).toEqual([allowed.toString()])
    expect(h.gate.stats().inbound['gossip-catalog'].denied).toBe(1)
  })

  it('relays but never lists a peer trust.sendTo leaves out', async () => {
    const named = await newPeer()
    const other = await newPeer()
    const h = setup({ trust: { tools: {}, sendTo: [named.toString()] } })
    expect(h.deliver(signed(other, encodeAdvert(advert(other, 1, h.now()))))).toBe(TopicValidatorResult.Accept)
    expect(h.deliver(signed(named, encodeAdvert(advert(named, 1, h.now()))))).toBe(TopicValidatorResult.Accept)
    expect(h.peers.list().map((p) => p.peerId)).toEqual([named.toString()])
  })

  it('refuses new peers once the catalog is full, and keeps refreshing the listed ones', async () => {
    const h = setup({ maxPeers: 2 })
    const [a, b, c] = [await newPeer(), await newPeer(), await newPeer()]
    expect(h.deliver(signed(a, encodeAdvert(advert(a, 1, h.now()))))).toBe(TopicValidatorResult.Accept)
    expect(h.deliver(signed(b, encodeAdvert(advert(b, 1, h.now()))))).toBe(TopicValidatorResult.Accept)
    expect(h.deliver(signed(c, encodeAdvert(advert(c, 1, h.now()))))).toBe(TopicValidatorResult.Ignore)
    expect(h.deliver(signed(a, encodeAdvert(advert(a, 2, h.now()))))).toBe(TopicValidatorResult.Accept)
    expect(h.peers.size).toBe(2)
    expect(h.stats.catalogFull).toBe(1)
    expect(h.gate.stats().inbound['gossip-catalog'].busy).toBe(1)
  })

  it('bounds the bytes of descriptors held over all peers', () => {
    const stats = emptyStats()
    const store = new DescriptorStore({
      peers: new PeerTable(60_000, () => {}),
      stats,
      listTools: async () => [],
      changed: () => {},
      running: () => true,
      maxBytes: 10_000
    })
    const big = (name: string): McpTool => ({
      name,
      description: 'x'.repeat(4_000),
      inputSchema: { type: 'object' }
    })
    expect(store.admit('p1', [big('a')])).toBe(true)
    expect(store.admit('p2', [big('b')])).toBe(true)
    expect(store.admit('p3', [big('c')])).toBe(false)
    expect(stats.descriptorsOverBudget).toBe(1)
    store.forget('p1')
    expect(store.admit('p3', [big('c')])).toBe(true)
    expect(stats.descriptorBytes).toBeLessThanOrEqual(10_000)
  })
})
