import { tryParsePeerId } from '../util/peer-id.js'
import { type Message, type SubscriptionChangeData, TopicValidatorResult } from '@libp2p/gossipsub'
import type { IdentifyResult, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from 'libp2p'
import { TypedEventEmitter } from 'main-event'
import type { MeshServices } from '../interface/libp2p.js'
import type { ToolRegistry } from '../tools/registry.js'
import { meshLogger } from '../util/logger.js'
import type { CatalogAdvert } from './advert.js'
import { AdvertPublisher } from './catalog/advert-publisher.js'
import { AdvertReceiver } from './catalog/advert-receiver.js'
import { LEGACY_ADVERT_INTERVAL_MS, REDIAL_TIMEOUT_MS } from './catalog/constants.js'
import { DescriptorStore } from './catalog/descriptors.js'
import { DirectListing } from './catalog/direct-listing.js'
import { PeerTable } from './catalog/peers.js'
import { ProviderRecords } from './catalog/provider-records.js'
import { RecordStore } from './catalog/records.js'
import { CatalogSync } from './catalog/sync.js'
import { SyncCore } from './catalog/sync-core.js'
import {
  type CatalogChangeReason,
  type CatalogEvents,
  type CatalogInit,
  type CatalogPeer,
  type CatalogStats,
  emptyStats,
  type ListTools
} from './catalog/types.js'
import { OutboundDeniedError } from './errors.js'
import type { PeerPool } from './peer-pool.js'
import { catalogSyncProtocol, catalogTopic } from './topics.js'

export { toolProviderCid } from './catalog/provider-records.js'
export type {
  CatalogChange,
  CatalogChangeReason,
  CatalogEvents,
  CatalogInit,
  CatalogPeer,
  CatalogSource,
  CatalogStats,
  CatalogTool
} from './catalog/types.js'

const log = meshLogger('catalog')

/**
 * Who offers what. Each node publishes a signed record of its exported tools
 * (names, schema hashes, tags), capacity, worker state and addresses, with a
 * sequence number and an expiry, on the mesh's catalog topic: when it
 * changes, on a rare refresh, and as a leave record on a clean stop.
 * gossipsub's StrictSign envelope is the record's signature, and the record
 * must name its signer. Records carry hashes, not schemas: descriptors are
 * fetched once per schema over `/mcp+p2p` (tools/list). Anti-entropy (a
 * digest exchange with one member now and then, and a full sync at join)
 * repairs what gossip missed. A peer leaves the catalog on its leave
 * record, when its connection dropped and a redial failed, or when its
 * record expires. Each exported tool also gets a DHT provider record, used
 * on a catalog miss to find providers beyond gossip.
 *
 * The parts live in `catalog/`: the record publisher and receiver, the
 * record store and anti-entropy, the descriptor store, direct listings, the
 * peer table and the DHT records.
 */
export class Catalog extends TypedEventEmitter<CatalogEvents> {
  readonly #libp2p: Libp2p<MeshServices>
  readonly #registry: ToolRegistry
  readonly #topic: string
  readonly #stats: CatalogStats = emptyStats()
  readonly #peers: PeerTable
  readonly #descriptors: DescriptorStore
  readonly #direct: DirectListing
  readonly #receiver: AdvertReceiver
  readonly #publisher: AdvertPublisher
  readonly #records: ProviderRecords
  readonly #signed = new RecordStore()
  readonly #sync: CatalogSync
  #expiryTimer?: NodeJS.Timeout
  #started = false
  readonly #onMessage = (event: CustomEvent<Message>): void => this.#receiver.receive(event.detail)
  readonly #onSubscriptionChange = (event: CustomEvent<SubscriptionChangeData>): void =>
    this.#publisher.subscriptionChanged(event.detail)
  readonly #onDisconnect = (event: CustomEvent<PeerId>): void => this.#peers.disconnected(event.detail.toString())
  readonly #onConnect = (event: CustomEvent<PeerId>): void => this.#peers.connected(event.detail.toString())
  readonly #onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    this.#sync.identified(event.detail.peerId, event.detail.protocols)
    this.#direct.identified(event.detail.peerId, event.detail.protocols)
  }
  readonly #onRegistryChange = (event: CustomEvent<{ type: string; names: string[] }>): void => {
    log('registry %s: %s', event.detail.type, event.detail.names.join(', '))
    this.#publisher.toolsChanged()
    this.#records.scheduleProvide()
  }

  constructor(libp2p: Libp2p<MeshServices>, registry: ToolRegistry, pool: PeerPool, init: CatalogInit) {
    super()
    this.#libp2p = libp2p
    this.#registry = registry
    this.#topic = catalogTopic(init.meshName)
    const stats = this.#stats
    const running = (): boolean => this.#started
    const changed = (peer: string, reason: CatalogChangeReason): void => {
      // A dropped peer's descriptors no longer count against the byte budget.
      if (reason === 'expired' || reason === 'disconnected' || reason === 'left') this.#descriptors.forget(peer)
      this.safeDispatchEvent('change', { detail: { peer, reason } })
    }
    const listTools: ListTools = async (peer, signal) => {
      // trust.sendTo: no request of ours ever goes to a peer it does not list.
      if (!init.gate.maySendTo(peer)) throw new OutboundDeniedError(peer)
      const client = await pool.get(peerIdFromString(peer), { signal })
      return (await client.listTools(undefined, { signal })).tools
    }
    const self = libp2p.peerId.toString()
    this.#peers = new PeerTable(
      init.peerTtlMs,
      changed,
      async (peer) => {
        if (!this.#started) throw new Error('catalog stopped')
        await libp2p.dial(peerIdFromString(peer), { signal: AbortSignal.timeout(REDIAL_TIMEOUT_MS) })
      },
      stats
    )
    this.#descriptors = new DescriptorStore({ peers: this.#peers, stats, listTools, changed, running })
    this.#direct = new DirectListing({
      meshName: init.meshName,
      peers: this.#peers,
      descriptors: this.#descriptors,
      stats,
      listTools,
      changed,
      connected: (peer) => libp2p.getConnections(peer).length > 0,
      running,
      gate: init.gate
    })
    this.#receiver = new AdvertReceiver({
      self,
      meshName: init.meshName,
      topic: this.#topic,
      peers: this.#peers,
      descriptors: this.#descriptors,
      stats,
      changed,
      storeAddrs: async (peer, multiaddrs) => {
        await libp2p.peerStore.merge(peerIdFromString(peer), { multiaddrs })
      },
      connected: (peer) => {
        const id = tryParsePeerId(peer)
        return id != null && libp2p.getConnections(id).length > 0
      },
      gate: init.gate,
      // Records without an expiry (legacy adverts) get the legacy freshness window and silence TTL.
      advertIntervalMs: Math.min(init.advertIntervalMs, LEGACY_ADVERT_INTERVAL_MS),
      legacyTtlMs: init.peerTtlMs,
      records: this.#signed
    })
    this.#publisher = new AdvertPublisher({
      ...init,
      libp2p,
      registry,
      topic: this.#topic,
      stats,
      meshSize: () => this.#signed.size
    })
    const core = new SyncCore({
      topic: this.#topic,
      records: this.#signed,
      accept: (from, message) => this.#receiver.accept(peerIdFromString(from), message) === TopicValidatorResult.Accept,
      descriptors: this.#descriptors,
      stats,
      toolsOf: (peer) =>
        [...(this.#peers.get(peer)?.tools.values() ?? [])].map((tool) => ({
          name: tool.advert.name,
          schemaHash: tool.advert.schemaHash,
          descriptor: tool.descriptor
        }))
    })
    this.#sync = new CatalogSync({
      protocol: catalogSyncProtocol(init.meshName),
      core,
      libp2p,
      gate: init.gate,
      stats,
      members: () => {
        const ids = new Set<string>()
        for (const connection of libp2p.getConnections()) {
          const id = connection.remotePeer.toString()
          if (id !== self && this.#signed.get(id) != null) ids.add(id)
        }
        return [...ids]
      },
      meshSize: () => this.#signed.size
    })
    this.#records = new ProviderRecords({
      libp2p,
      meshName: init.meshName,
      provide: init.dhtProvide,
      exported: () =>
        registry
          .list()
          .filter((tool) => init.isExported(tool.name))
          .map((tool) => tool.name),
      stats
    })
  }

  get topic(): string {
    return this.#topic
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    const pubsub = this.#libp2p.services.pubsub
    pubsub.topicValidators.set(this.#topic, (peer, message) => this.#receiver.validate(peer, message))
    pubsub.addEventListener('message', this.#onMessage)
    pubsub.addEventListener('subscription-change', this.#onSubscriptionChange)
    pubsub.subscribe(this.#topic)
    this.#libp2p.addEventListener('peer:disconnect', this.#onDisconnect)
    this.#libp2p.addEventListener('peer:connect', this.#onConnect)
    this.#libp2p.addEventListener('peer:identify', this.#onIdentify)
    this.#registry.addEventListener('change', this.#onRegistryChange)
    this.#expiryTimer = setInterval(
      () => {
        this.#peers.expire()
        this.#signed.prune(Date.now())
      },
      Math.max(250, Math.floor(this.#peers.disconnectGraceMs / 2))
    )
    this.#expiryTimer.unref()
    this.#publisher.start()
    this.#records.start()
    await this.#sync.start()
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    // A clean stop withdraws our tools everywhere at once.
    await this.#publisher.leave()
    this.#started = false
    await this.#sync.stop()
    this.#records.stop()
    this.#publisher.stop()
    clearInterval(this.#expiryTimer)
    this.#expiryTimer = undefined
    this.#descriptors.stop()
    const pubsub = this.#libp2p.services.pubsub
    pubsub.removeEventListener('message', this.#onMessage)
    pubsub.removeEventListener('subscription-change', this.#onSubscriptionChange)
    pubsub.topicValidators.delete(this.#topic)
    try {
      pubsub.unsubscribe(this.#topic)
    } catch {}
    this.#libp2p.removeEventListener('peer:disconnect', this.#onDisconnect)
    this.#libp2p.removeEventListener('peer:connect', this.#onConnect)
    this.#libp2p.removeEventListener('peer:identify', this.#onIdentify)
    this.#direct.stop()
    this.#registry.removeEventListener('change', this.#onRegistryChange)
    this.#peers.clear()
    this.#signed.clear()
  }

  peers(): CatalogPeer[] {
    return this.#peers.list()
  }

  peer(peerId: string): CatalogPeer | undefined {
    return this.#peers.get(peerId)
  }

  stats(): CatalogStats {
    return { ...this.#stats, peers: this.#peers.size, tools: this.#peers.toolCount(), records: this.#signed.size }
  }

  /** Folds a measured round trip into the peer's smoothed latency. */
  recordLatency(peerId: string, ms: number): void {
    this.#peers.recordLatency(peerId, ms)
  }

  /** One anti-entropy exchange with `peer` (tests, diagnostics); resolves with the records taken. */
  async syncWith(peer: string): Promise<number> {
    return this.#sync.syncWith(peer)
  }

  /** Publishes our record after `delayMs`, coalescing bursts of triggers. */
  schedulePublish(delayMs: number): void {
    this.#publisher.schedulePublish(delayMs)
  }

  publish(): void {
    this.#publisher.publish()
  }

  ownAdvert(): CatalogAdvert {
    return this.#publisher.ownAdvert()
  }

  /**
   * Adds a peer found outside gossip (a DHT provider) by fetching its tool
   * list over `/mcp+p2p`. It expires like any silent peer unless its adverts
   * start arriving.
   */
  async addFromDirectListing(
    peerId: string,
    signal?: AbortSignal,
    source: 'dht' | 'direct' = 'dht'
  ): Promise<CatalogPeer | undefined> {
    return this.#direct.add(peerId, signal, source)
  }

  /** Finds providers of `tool` in the DHT and adds them; resolves with the first that offers it. */
  async lookup(tool: string, signal: AbortSignal): Promise<CatalogPeer | undefined> {
    return this.#records.lookup(tool, signal, async (peer, lookupSignal) => this.#direct.add(peer, lookupSignal))
  }
}
