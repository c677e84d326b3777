/**
 * The known-peers store keeps only members that proved membership over an
 * open connection and that the trust gate admits, and never more than its
 * cap (the least recently seen goes first).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { IdentifyResult, Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { memberProtocol, TAG_KNOWN } from '../../src/discovery/constants.js'
import { KnownPeers, type KnownPeersInit } from '../../src/discovery/known-peers.js'
import { waitFor } from '../helpers/index.js'

const MESH = 'default'

interface StoredPeer {
  tags: Map<string, unknown>
  metadata: Map<string, Uint8Array>
}

/** A libp2p with just what KnownPeers uses: events and a peer store in memory. */
async function stubLibp2p(): Promise<{ libp2p: Libp2p; events: EventTarget; tagged: () => string[] }> {
  const events = new EventTarget()
  const store = new Map<string, { id: PeerId; peer: StoredPeer }>()
  const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const peerStore = {
    merge: async (id: PeerId, data: { tags?: Record<string, unknown>; metadata?: Record<string, Uint8Array> }) => {
      const entry = store.get(id.toString()) ?? { id, peer: { tags: new Map(), metadata: new Map() } }
      for (const [key, value] of Object.entries(data.tags ?? {}))
        value === undefined ? entry.peer.tags.delete(key) : entry.peer.tags.set(key, value)
      for (const [key, value] of Object.entries(data.metadata ?? {}))
        value === undefined ? entry.peer.metadata.delete(key) : entry.peer.metadata.set(key, value)
      store.set(id.toString(), entry)
    },
    get: async (id: PeerId) => {
      const entry = store.get(id.toString())
      if (entry == null) throw new Error('not found')
      return { id, ...entry.peer, addresses: [], protocols: [] }
    },
    all: async (options: { filters: Array<(peer: { tags: Map<string, unknown> }) => boolean> }) =>
      [...store.values()]
        .map(({ id, peer }) => ({ id, ...peer, addresses: [], protocols: [] }))
        .filter((peer) => options.filters.every((filter) => filter(peer)))
  }
  const libp2p = {
    peerId: self,
    peerStore,
    addEventListener: events.addEventListener.bind(events),
    removeEventListener: events.removeEventListener.bind(events),
    getConnections: () => [],
    dial: async () => {
      throw new Error('no dialling in this test')
    }
  } as unknown as Libp2p
  const tagged = (): string[] => [...store.entries()].filter(([, e]) => e.peer.tags.has(TAG_KNOWN)).map(([id]) => id)
  return { libp2p, events, tagged }
}

function identified(events: EventTarget, peerId: PeerId, status: 'open' | 'closed' = 'open'): void {
  const detail = {
    peerId,
    protocols: [memberProtocol(MESH)],
    listenAddrs: [],
    connection: { status, remotePeer: peerId }
  } as unknown as IdentifyResult
  events.dispatchEvent(new CustomEvent('peer:identify', { detail }))
}

async function setup(init: Partial<KnownPeersInit> = {}) {
  const stub = await stubLibp2p()
  const known = new KnownPeers(stub.libp2p, {
    mesh: MESH,
    enabled: true,
    redial: 0,
    forgetAfterMs: 3_600_000,
    dialTimeoutMs: 1_000,
    backoff: { initialMs: 100, maxMs: 1_000 },
    ...init
  })
  known.start()
  return { ...stub, known }
}

const newPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

describe('the known-peers store', () => {
  it('stores an admitted member, and neither a peer the trust gate refuses nor one whose connection is gone', async () => {
    const [friend, stranger, gone] = [await newPeer(), await newPeer(), await newPeer()]
    const { events, known, tagged } = await setup({ admits: (peer) => peer !== stranger.toString() })
    identified(events, stranger)
    identified(events, gone, 'closed')
    identified(events, friend)
    await waitFor(() => tagged().includes(friend.toString()), { message: 'the friend stored' })
    expect(tagged()).toEqual([friend.toString()])
    expect(known.status().stored).toBe(1)
    expect((await known.list()).map((p) => p.peerId.toString())).toEqual([friend.toString()])
  })

  it('never grows beyond its cap under a flood of identities, evicting the least recently seen', async () => {
    const { events, known, tagged } = await setup({ maxStored: 8 })
    const flood: PeerId[] = []
    for (let i = 0; i < 40; i++) flood.push(await newPeer())
    for (const peer of flood) {
      identified(events, peer)
      // Distinct last-seen times, so "least recently seen" is well defined.
      await new Promise((resolve) => setImmediate(resolve))
      expect(known.status().stored).toBeLessThanOrEqual(8)
    }
    await waitFor(() => tagged().length === 8, { message: 'the store at its cap' })
    expect(known.status().stored).toBe(8)
    expect((await known.list()).length).toBe(8)
    // The most recent ones stayed.
    expect(new Set(tagged())).toEqual(new Set(flood.slice(-8).map(String)))
  })

  it('forgets stored peers the trust gate no longer admits', async () => {
    const [a, b] = [await newPeer(), await newPeer()]
    let allowed = new Set([a.toString(), b.toString()])
    const { events, known, tagged } = await setup({ admits: (peer) => allowed.has(peer) })
    identified(events, a)
    identified(events, b)
    await waitFor(() => tagged().length === 2, { message: 'both stored' })
    allowed = new Set([a.toString()])
    expect((await known.list()).map((p) => p.peerId.toString())).toEqual([a.toString()])
    expect(tagged()).toEqual([a.toString()])
  })
})
