import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { TypedEventEmitter } from 'main-event'
import { afterEach, describe, expect, it } from 'vitest'
import { ADVERT_VERSION, encodeAdvert } from '../../src/mesh/advert.js'
import { type CatalogChange, type MeshService, meshService } from '../../src/mesh/index.js'
import { catalogTopic } from '../../src/mesh/topics.js'
import { ToolRegistry } from '../../src/tools/registry.js'
import { TrustGate } from '../../src/trust/index.js'
import { rejectionOf, thrownBy } from '../helpers/index.js'

/**
 * The mesh service against stubbed components: a libp2p whose dials fail and
 * whose gossip is a local event, so the port's delegation to the catalog and
 * the pool is visible without a network.
 */

class FakePubsub extends TypedEventEmitter<{ message: CustomEvent<unknown> }> {
  readonly topicValidators = new Map<string, unknown>()
  subscribe(): void {}
  unsubscribe(): void {}
  async publish(): Promise<void> {}
}

async function newPeer(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

const running: MeshService[] = []
afterEach(async () => {
  for (const mesh of running.splice(0)) await mesh.stop()
})

async function setup(): Promise<{
  mesh: MeshService
  changes: CatalogChange[]
  handled: string[]
  dialled: string[]
  advertise: (from: PeerId) => void
}> {
  const pubsub = new FakePubsub()
  const handled: string[] = []
  const dialled: string[] = []
  const libp2p = Object.assign(new TypedEventEmitter(), {
    peerId: await newPeer(),
    services: { pubsub },
    contentRouting: {},
    peerStore: { merge: async () => {} },
    getConnections: () => [],
    getMultiaddrs: () => [],
    handle: async (protocol: string) => {
      handled.push(protocol)
    },
    unhandle: async (protocol: string) => {
      handled.splice(handled.indexOf(protocol), 1)
    },
    dialProtocol: async (peer: PeerId) => {
      dialled.push(peer.toString())
      throw new Error('no route to peer')
    }
  })
  const changes: CatalogChange[] = []
  const registry = new ToolRegistry()
  const mesh = meshService({
    meshName: 'default',
    protocol: {},
    catalog: { dhtProvide: false, advertIntervalMs: 60_000, peerTtlMs: 60_000 },
    dhtProvide: false,
    onCatalogChange: (change) => changes.push(change)
  })({
    libp2p: libp2p as never,
    registry,
    serve: async () => undefined,
    gate: new TrustGate({ export: { tools: [] }, trust: { tools: {} } }, { tools: registry }),
    runLocal: async () => ({ content: [] })
  })
  running.push(mesh)
  return {
    mesh,
    changes,
    handled,
    dialled,
    advertise: (from) => {
      const data = encodeAdvert({
        v: ADVERT_VERSION,
        mesh: 'default',
        peerId: from.toString(),
        seq: 1,
        ts: Date.now(),
        capacity: { maxConcurrency: 2 },
        load: { inFlight: 0, queued: 0 },
        tools: []
      })
      pubsub.safeDispatchEvent('message', {
        detail: { type: 'signed', topic: catalogTopic('default'), data, from, sequenceNumber: 1n }
      })
    }
  }
}

describe('meshService', () => {
  it('offers its tools for the node to register, and nothing of its state before start', async () => {
    const { mesh } = await setup()
    expect(mesh.name).toBe('mesh')
    expect(
      mesh
        .tools()
        .map((tool) => tool.name)
        .sort()
    ).toEqual(['mesh_call', 'peer_list', 'peer_tools'])
    expect(thrownBy(() => mesh.dispatcher).name).toBe('MeshNotStartedError')
    expect(thrownBy(() => mesh.surface).name).toBe('MeshNotStartedError')
  })

  it('starts and stops once however often it is asked, handling /mcp+p2p while it runs', async () => {
    const { mesh, handled } = await setup()
    await mesh.start()
    await mesh.start()
    // The catalog serves its anti-entropy protocol too (issue "Scale": digest exchange and join sync).
    expect(handled).toEqual(['/mcp+p2p/1.0.0', '/mcp-mesh/default/catalog-sync/1.0.0'])
    expect(mesh.dispatcher.offers('anything')).toBe(false)
    expect(mesh.surface.list(new Set())).toEqual([])
    await mesh.stop()
    await mesh.stop()
    expect(handled).toEqual([])
  })
})

describe('MeshPort', () => {
  it('is usable before start: listeners subscribed early hear catalog changes once the mesh runs', async () => {
    const { mesh, changes, advertise } = await setup()
    const port = mesh.port()
    expect(port.peers()).toEqual([])
    let heard = 0
    const unsubscribe = port.onCatalogChange(() => {
      heard++
    })
    await mesh.start()
    const peer = await newPeer()
    advertise(peer)
    expect(heard).toBe(1)
    expect(changes).toEqual([{ peer: peer.toString(), reason: 'advert' }])
    expect(port.peers().map((p) => [p.peerId, p.capacity.maxConcurrency])).toEqual([[peer.toString(), 2]])
    unsubscribe()
    advertise(await newPeer())
    expect(heard).toBe(1)
    expect(changes).toHaveLength(2)
  })

  it('hands out pooled clients: a client of an unreachable peer fails as the pool fails', async () => {
    const { mesh, dialled } = await setup()
    const port = mesh.port()
    const peer = await newPeer()
    expect((await rejectionOf(port.client(peer))).name).toBe('MeshNotStartedError')
    await mesh.start()
    expect((await rejectionOf(port.client(peer))).name).toBe('PeerUnreachableError')
    expect(dialled).toEqual([peer.toString()])
    await expect(port.drop(peer.toString())).resolves.toBeUndefined()
  })

  it('rejects a malformed peer ID in peer_tools and mesh_call with InvalidPeerIdError', async () => {
    const { mesh } = await setup()
    await mesh.start()
    const err = await rejectionOf(mesh.peerTools('nope', AbortSignal.timeout(1_000)))
    expect(err.name).toBe('InvalidPeerIdError')
    expect(err.message).toContain('not a valid peer ID')
    const call = await rejectionOf(
      mesh.callPeer(
        'nope',
        'echo',
        {},
        { signal: AbortSignal.timeout(1_000), reportProgress: () => {}, caller: { kind: 'local' } },
        1_000
      )
    )
    expect(call.name).toBe('InvalidPeerIdError')
  })
})
