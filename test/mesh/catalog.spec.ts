import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Tool as McpTool } from '@modelcontextprotocol/server'
import { TypedEventEmitter } from 'main-event'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { memberProtocol } from '../../src/discovery/constants.js'
import { ADVERT_VERSION, encodeAdvert, schemaHash } from '../../src/mesh/advert.js'
import { Catalog } from '../../src/mesh/catalog.js'
import { DIRECT_LISTING_DELAY_MS, MCP_P2P_PROTOCOL } from '../../src/mesh/constants.js'
import type { PeerPool } from '../../src/mesh/peer-pool.js'
import type { ToolRegistry } from '../../src/tools/registry.js'
import { TrustGate } from '../../src/trust/index.js'
import { waitFor } from '../helpers/index.js'

/**
 * The catalog's descriptor handling against stubbed libp2p, registry and
 * pool: gossip delivery is replaced by dispatching the pubsub `message`
 * event the catalog listens to.
 */

const INPUT = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] }

function descriptor(name: string, inputSchema: Record<string, unknown> = INPUT): McpTool {
  return { name, description: `${name} tool`, inputSchema: inputSchema as McpTool['inputSchema'] }
}

class FakePubsub extends TypedEventEmitter<{ message: CustomEvent<unknown> }> {
  readonly topicValidators = new Map<string, unknown>()
  subscribe(): void {}
  unsubscribe(): void {}
  async publish(): Promise<void> {}
}

interface Harness {
  catalog: Catalog
  deliver(from: PeerId, tools: McpTool[], seq?: number, addrs?: string[]): void
  /** A `peer:identify` for `peer` with these protocols. */
  identify(peer: PeerId, protocols: string[]): void
  /** tools/list calls per peer. */
  fetches: Map<string, number>
  /** Addresses the catalog stored in the peer store, per call. */
  merged: Array<{ peer: string; addrs: string[] }>
}

const running: Catalog[] = []
afterEach(async () => {
  for (const catalog of running.splice(0)) await catalog.stop()
})

async function harness(listings: (peer: string, attempt: number) => McpTool[] | Error): Promise<Harness> {
  const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const pubsub = new FakePubsub()
  const libp2p = Object.assign(new TypedEventEmitter(), {
    peerId: self,
    services: { pubsub },
    contentRouting: {},
    // Every peer counts as connected (direct listings require a connection).
    getConnections: () => [{}],
    getMultiaddrs: () => [],
    handle: async () => {},
    unhandle: async () => {},
    peerStore: {
      merge: async (peer: PeerId, data: { multiaddrs: Array<{ toString(): string }> }) => {
        merged.push({ peer: peer.toString(), addrs: data.multiaddrs.map(String) })
      }
    }
  })
  const registry = Object.assign(new TypedEventEmitter(), { list: () => [] })
  const fetches = new Map<string, number>()
  const merged: Array<{ peer: string; addrs: string[] }> = []
  const pool = {
    get: async (peer: PeerId) => ({
      listTools: async () => {
        const id = peer.toString()
        const attempt = (fetches.get(id) ?? 0) + 1
        fetches.set(id, attempt)
        const listed = listings(id, attempt)
        if (listed instanceof Error) throw listed
        return { tools: listed }
      }
    })
  }
  const catalog = new Catalog(libp2p as never, registry as unknown as ToolRegistry, pool as unknown as PeerPool, {
    meshName: 'default',
    advertIntervalMs: 60_000,
    peerTtlMs: 60_000,
    dhtProvide: false,
    capacity: () => ({ maxConcurrency: 1 }),
    load: () => ({ inFlight: 0, queued: 0 }),
    isExported: () => true,
    gate: new TrustGate({ export: { tools: [] }, trust: { tools: {} } }, { tools: { get: () => undefined } })
  })
  await catalog.start()
  running.push(catalog)
  return {
    catalog,
    fetches,
    merged,
    identify: (peer, protocols) => {
      libp2p.safeDispatchEvent('peer:identify', { detail: { peerId: peer, protocols, listenAddrs: [] } })
    },
    deliver: (from, tools, seq = 1, addrs) => {
      const data = encodeAdvert({
        v: ADVERT_VERSION,
        mesh: 'default',
        peerId: from.toString(),
        seq,
        ts: Date.now(),
        capacity: { maxConcurrency: 1 },
        load: { inFlight: 0, queued: 0 },
        tools: tools.map((tool) => ({
          name: tool.name,
          schemaHash: schemaHash(tool.inputSchema, tool.outputSchema),
          tags: [],
          category: 'general',
          priority: 5,
          timeoutMs: 1_000
        })),
        ...(addrs != null ? { addrs } : {})
      })
      pubsub.safeDispatchEvent('message', {
        detail: { type: 'signed', topic: catalog.topic, data, from, sequenceNumber: BigInt(seq) }
      })
    }
  }
}

async function newPeer(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

function described(catalog: Catalog, peer: PeerId, tool: string): McpTool | undefined {
  return catalog.peer(peer.toString())?.tools.get(tool)?.descriptor
}

describe('Catalog descriptors', () => {
  it('fetches a schema once: a second peer offering the same tool and schema is described from the cache', async () => {
    const { catalog, deliver, fetches } = await harness(() => [descriptor('grep')])
    const [first, second] = [await newPeer(), await newPeer()]
    deliver(first, [descriptor('grep')])
    await waitFor(() => described(catalog, first, 'grep'), { message: 'first peer described' })
    deliver(second, [descriptor('grep')])
    expect(described(catalog, second, 'grep')?.name).toBe('grep')
    expect(fetches.get(second.toString())).toBeUndefined()
    expect(catalog.stats()).toMatchObject({ descriptorFetches: 1, descriptorCacheHits: 1 })
  })

  it('does not list a tool whose fetched schemas differ from the advertised hash', async () => {
    // The peer advertises one schema and then describes the tool with another.
    const { catalog, deliver } = await harness(() => [descriptor('grep', { type: 'object', properties: {} })])
    const liar = await newPeer()
    deliver(liar, [descriptor('grep')])
    await waitFor(() => catalog.stats().descriptorMismatches === 1, { message: 'the mismatch to be counted' })
    expect(described(catalog, liar, 'grep')).toBeUndefined()
    // ...and the bad descriptor did not enter the cache for honest peers.
    const honest = await newPeer()
    deliver(honest, [descriptor('grep')])
    expect(catalog.stats().descriptorCacheHits).toBe(0)
  })

  it('retries a failed fetch with backoff instead of waiting for the next advert', async () => {
    const { catalog, deliver, fetches } = await harness((_, attempt) =>
      attempt < 3 ? new Error('stream reset') : [descriptor('grep')]
    )
    const peer = await newPeer()
    deliver(peer, [descriptor('grep')])
    await waitFor(() => described(catalog, peer, 'grep'), { timeoutMs: 5_000, message: 'described after retries' })
    expect(fetches.get(peer.toString())).toBe(3)
    expect(catalog.stats()).toMatchObject({ descriptorFetches: 3, descriptorFetchErrors: 2 })
  })

  it('lists a connected member directly when its advert has not come, and never a peer of another mesh', async () => {
    const { catalog, identify, fetches } = await harness(() => [descriptor('grep')])
    const [member, foreign] = [await newPeer(), await newPeer()]
    identify(member, [MCP_P2P_PROTOCOL, memberProtocol('default')])
    identify(foreign, [MCP_P2P_PROTOCOL, memberProtocol('other-mesh')])
    await waitFor(() => described(catalog, member, 'grep'), { timeoutMs: 5_000, message: 'the member listed directly' })
    expect(catalog.peer(member.toString())?.source).toBe('direct')
    expect(catalog.stats().directListings).toBe(1)
    expect(catalog.peer(foreign.toString())).toBeUndefined()
    expect(fetches.get(foreign.toString())).toBeUndefined()
  })

  it('does not list directly a member whose advert arrived first', async () => {
    const { catalog, identify, deliver, fetches } = await harness(() => [descriptor('grep')])
    const member = await newPeer()
    // Fake timers from here: the direct-listing delay passes without waiting for it.
    vi.useFakeTimers()
    try {
      identify(member, [MCP_P2P_PROTOCOL, memberProtocol('default')])
      deliver(member, [descriptor('grep')])
      await vi.advanceTimersByTimeAsync(DIRECT_LISTING_DELAY_MS * 2)
      expect(described(catalog, member, 'grep')?.name).toBe('grep')
      expect(fetches.get(member.toString())).toBe(1)
      expect(catalog.peer(member.toString())?.source).toBe('gossip')
      expect(catalog.stats().directListings).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it("stores an advert's addresses before fetching, so the dial needs no DHT lookup; a malformed one is dropped", async () => {
    const { catalog, deliver, merged } = await harness(() => [descriptor('grep')])
    const peer = await newPeer()
    deliver(peer, [descriptor('grep')], 1, ['/ip4/127.0.0.1/tcp/4001', 'not a multiaddr'])
    await waitFor(() => described(catalog, peer, 'grep'), { message: 'described' })
    expect(merged).toEqual([{ peer: peer.toString(), addrs: ['/ip4/127.0.0.1/tcp/4001'] }])
  })
})
