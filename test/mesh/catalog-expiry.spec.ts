/**
 * The record rules that replaced the 5 s advert freshness window: a record's
 * validity comes from its expiry, replay protection from its sequence
 * number, and a leave record withdraws the signer at once. Run at the level
 * of the catalog's validator and receiver, on a fake clock.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { ADVERT_VERSION, type CatalogAdvert, encodeAdvert } from '../../src/mesh/advert.js'
import { AdvertReceiver } from '../../src/mesh/catalog/advert-receiver.js'
import { MAX_RECORD_TTL_MS } from '../../src/mesh/catalog/constants.js'
import { DescriptorStore } from '../../src/mesh/catalog/descriptors.js'
import { PeerTable } from '../../src/mesh/catalog/peers.js'
import { RecordStore, type SignedMessage } from '../../src/mesh/catalog/records.js'
import { type CatalogChangeReason, emptyStats } from '../../src/mesh/catalog/types.js'
import { catalogTopic } from '../../src/mesh/topics.js'
import { TrustGate } from '../../src/trust/index.js'

const TOPIC = catalogTopic('default')
const HOUR = 3_600_000

async function newPeer(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

function record(from: PeerId, seq: number, ts: number, extra: Partial<CatalogAdvert> = {}): SignedMessage {
  const advert: CatalogAdvert = {
    v: ADVERT_VERSION,
    mesh: 'default',
    peerId: from.toString(),
    seq,
    ts,
    exp: ts + 3 * HOUR,
    capacity: { maxConcurrency: 1 },
    tools: [],
    ...extra
  }
  return { type: 'signed', topic: TOPIC, from, data: encodeAdvert(advert), sequenceNumber: BigInt(seq) } as never
}

function setup() {
  let clock = 1_800_000_000_000
  const stats = emptyStats()
  const changes: Array<{ peer: string; reason: CatalogChangeReason }> = []
  const peers = new PeerTable(3 * HOUR, (peer, reason) => changes.push({ peer, reason }))
  const records = new RecordStore()
  const receiver = new AdvertReceiver({
    self: 'self',
    meshName: 'default',
    topic: TOPIC,
    peers,
    descriptors: new DescriptorStore({
      peers,
      stats,
      listTools: async () => [],
      changed: () => {},
      running: () => true
    }),
    stats,
    changed: () => {},
    storeAddrs: async () => {},
    gate: new TrustGate({ export: { tools: [] }, trust: { tools: {} } }, { tools: { get: () => undefined } }),
    advertIntervalMs: 5_000,
    records,
    now: () => clock
  })
  return {
    stats,
    peers,
    records,
    changes,
    deliver: (message: SignedMessage) => receiver.accept(message.from, message),
    /** As gossipsub does: the validator, then (on Accept) the receiver; Accept means relayed. */
    gossip: (message: SignedMessage) => {
      const verdict = receiver.validate(message.from, message)
      if (verdict === TopicValidatorResult.Accept) receiver.receive(message)
      return verdict
    },
    now: () => clock,
    advance: (ms: number) => {
      clock += ms
    }
  }
}

describe('catalog records: expiry and sequence numbers', () => {
  it('takes a record for its whole lifetime (hours, not the old 40 s window), and not past its expiry', async () => {
    const h = setup()
    const peer = await newPeer()
    const signed = record(peer, 1, h.now())
    h.advance(2 * HOUR)
    // Two hours after signing (relayed late, or handed on by anti-entropy): still valid.
    expect(h.deliver(signed)).toBe(TopicValidatorResult.Accept)
    expect(h.peers.get(peer.toString())?.expiresAt).toBe(h.now() - 2 * HOUR + 3 * HOUR)
    h.peers.clear()
    h.advance(HOUR + 1)
    expect(h.deliver(record(peer, 2, h.now() - 3 * HOUR - 1))).toBe(TopicValidatorResult.Ignore)
    expect(h.stats.advertsStale).toBe(1)
  })

  it('refuses an expiry further than 48 h past the signing', async () => {
    const h = setup()
    const peer = await newPeer()
    const forever = record(peer, 1, h.now(), { exp: h.now() + MAX_RECORD_TTL_MS + 1 })
    expect(h.deliver(forever)).toBe(TopicValidatorResult.Ignore)
    expect(h.peers.size).toBe(0)
  })

  it('a refresh (same content, next sequence number) extends the entry; a replay of the older one never does', async () => {
    const h = setup()
    const peer = await newPeer()
    const first = record(peer, 1, h.now())
    expect(h.deliver(first)).toBe(TopicValidatorResult.Accept)
    h.advance(HOUR)
    expect(h.deliver(record(peer, 2, h.now()))).toBe(TopicValidatorResult.Accept)
    const extended = h.peers.get(peer.toString())?.expiresAt
    expect(extended).toBe(h.now() + 3 * HOUR)
    expect(h.deliver(first)).toBe(TopicValidatorResult.Ignore)
    expect(h.peers.get(peer.toString())?.expiresAt).toBe(extended)
    expect(h.records.get(peer.toString())?.seq).toBe(2)
  })

  it('a leave record withdraws the peer at once, and its earlier record replayed afterwards stays out', async () => {
    const h = setup()
    const peer = await newPeer()
    const live = record(peer, 1, h.now())
    expect(h.deliver(live)).toBe(TopicValidatorResult.Accept)
    expect(h.deliver(record(peer, 2, h.now(), { leave: true }))).toBe(TopicValidatorResult.Accept)
    expect(h.peers.has(peer.toString())).toBe(false)
    expect(h.changes).toContainEqual({ peer: peer.toString(), reason: 'left' })
    // The leave is kept for anti-entropy, so members that missed it learn it too.
    expect(h.records.get(peer.toString())?.leave).toBe(true)
    expect(h.deliver(live)).toBe(TopicValidatorResult.Ignore)
    expect(h.peers.has(peer.toString())).toBe(false)
  })

  it('a record handed on again after its peer was dropped (failed redial) does not bring it back', async () => {
    const h = setup()
    const peer = await newPeer()
    const live = record(peer, 1, h.now())
    expect(h.deliver(live)).toBe(TopicValidatorResult.Accept)
    h.peers.remove(peer.toString(), 'disconnected')
    expect(h.deliver(live)).toBe(TopicValidatorResult.Ignore)
    expect(h.peers.has(peer.toString())).toBe(false)
    // Control: the peer is back when it signs something new.
    expect(h.deliver(record(peer, 2, h.now()))).toBe(TopicValidatorResult.Accept)
    expect(h.peers.has(peer.toString())).toBe(true)
  })

  it('relays the first gossip copy of a record taken through anti-entropy, once; replays stay ignored', async () => {
    const h = setup()
    const newcomer = await newPeer()
    const own = record(newcomer, 1, h.now())
    // A newcomer's join sync pushes its record to its contact before its own gossip publish arrives.
    expect(h.deliver(own)).toBe(TopicValidatorResult.Accept)
    const changes = h.changes.length
    // The author's gossip copy (a later gossipsub seqno, same record) is relayed, not ignored as a replay ...
    const copy = { ...own, sequenceNumber: own.sequenceNumber + 1n }
    expect(h.gossip(copy)).toBe(TopicValidatorResult.Accept)
    expect(h.stats.recordsRelayedAfterSync).toBe(1)
    expect(h.changes.length).toBe(changes)
    // ... once: the same copy again, or an older one, is a replay.
    expect(h.gossip(copy)).toBe(TopicValidatorResult.Ignore)
    expect(h.gossip({ ...own, sequenceNumber: own.sequenceNumber + 2n })).toBe(TopicValidatorResult.Ignore)
    // Other bytes under the same record sequence number are never relayed.
    const other = await newPeer()
    expect(h.deliver(record(other, 5, h.now()))).toBe(TopicValidatorResult.Accept)
    const forged = { ...record(other, 5, h.now(), { tools: [], capacity: { maxConcurrency: 2 } }), sequenceNumber: 9n }
    expect(h.gossip(forged)).toBe(TopicValidatorResult.Ignore)
    // A record that came over gossip was relayed then: its copies stay ignored.
    const third = await newPeer()
    const gossiped = record(third, 1, h.now())
    expect(h.gossip(gossiped)).toBe(TopicValidatorResult.Accept)
    expect(h.gossip({ ...gossiped, sequenceNumber: 2n })).toBe(TopicValidatorResult.Ignore)
    expect(h.stats.recordsRelayedAfterSync).toBe(1)
  })
})
