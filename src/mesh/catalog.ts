import type { Message, SubscriptionChangeData } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { IdentifyResult, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Tool as McpTool } from '@modelcontextprotocol/server'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type { Libp2p } from 'libp2p'
import { memberProtocol } from '../discovery/constants.js'
import type { MeshServices } from '../interface/libp2p.js'
import type { ToolRegistry } from '../tools/registry.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { type AdvertTool, type CatalogAdvert, decodeAdvert, encodeAdvert, schemaHash } from './advert.js'
import { ADVERT_VERSION, MAX_ADVERT_ADDRS } from './advert.js'
import {
  DESCRIPTOR_RETRY_ATTEMPTS,
  DIRECT_LISTING_DELAY_MS,
  DIRECT_LISTING_TIMEOUT_MS,
  DESCRIPTOR_RETRY_INITIAL_MS,
  DISCONNECT_GRACE_MS,
  MAX_ADVERT_BYTES,
  MAX_CACHED_DESCRIPTORS,
  MCP_P2P_PROTOCOL,
  PROVIDE_DEBOUNCE_MS,
  SUBSCRIPTION_PUBLISH_MIN_INTERVAL_MS
} from './constants.js'
import type { PeerPool } from './peer-pool.js'
import { catalogTopic } from './topics.js'

const log = meshLogger('catalog')

export interface CatalogTool {
  advert: AdvertTool
  /** The full MCP descriptor, fetched from the peer's tools/list. */
  descriptor?: McpTool
}

export interface CatalogPeer {
  peerId: string
  seq: number
  lastSeen: number
  /** How the peer was found: its gossip adverts, a DHT provider lookup, or a direct listing on connect. */
  source: 'gossip' | 'dht' | 'direct'
  capacity: CatalogAdvert['capacity']
  load: CatalogAdvert['load']
  worker?: CatalogAdvert['worker']
  tools: Map<string, CatalogTool>
  /** Smoothed round trip time in ms (ping and call round trips), when measured. */
  latencyMs?: number
  /** Set while the peer has no connection; it is dropped if none returns within the grace period. */
  disconnectedAt?: number
}

export interface CatalogEvents {
  change: CustomEvent<{
    peer: string
    reason: 'advert' | 'descriptors' | 'expired' | 'disconnected' | 'dht' | 'direct'
  }>
}

export interface CatalogInit {
  meshName: string
  advertIntervalMs: number
  peerTtlMs: number
  dhtProvide: boolean
  /** Our own advert's capacity and live load. */
  capacity: () => CatalogAdvert['capacity']
  load: () => CatalogAdvert['load']
  worker?: () => CatalogAdvert['worker']
  isExported: (name: string) => boolean
}

export interface CatalogStats {
  peers: number
  tools: number
  /** Members listed directly on connect because no advert of theirs had arrived yet. */
  directListings: number
  /** Descriptors taken from the (name, schema hash) cache instead of a tools/list round trip. */
  descriptorCacheHits: number
  /** tools/list fetches of peers' descriptors, and those that failed. */
  descriptorFetches: number
  descriptorFetchErrors: number
  /** Fetched descriptors whose schemas did not match the hash the peer advertised (not listed). */
  descriptorMismatches: number
  advertsReceived: number
  advertsRejected: number
  advertsIgnored: number
  advertsSent: number
  dhtProvided: number
  dhtLookups: number
}

/** The advert's addresses that parse; a malformed one is dropped, not the advert. */
function dialableAddrs(addrs: readonly string[] | undefined): Multiaddr[] {
  const parsed: Multiaddr[] = []
  for (const text of addrs ?? []) {
    try {
      parsed.push(multiaddr(text))
    } catch {
      // A bad address is the sender's problem; the others may still work.
    }
  }
  return parsed
}

function descriptorKey(name: string, hash: string): string {
  return `${name}\0${hash}`
}

/** CID under which providers of `tool` in `mesh` are announced in the DHT. */
export async function toolProviderCid(mesh: string, tool: string): Promise<CID> {
  const digest = await sha256.digest(new TextEncoder().encode(`mcp-mesh/${mesh}/tool/${tool}`))
  return CID.createV1(raw.code, digest)
}

/**
 * Who offers what. Each node publishes a signed advert of its exported tools
 * (names, schema hashes, tags, capacity, load, sequence number) on the mesh's
 * catalog topic, periodically and on change; gossipsub's StrictSign envelope
 * is the advert's signature, and the advert must name its signer. Adverts
 * carry hashes, not schemas: full descriptors are fetched once per schema
 * over `/mcp+p2p` (tools/list). Each exported tool also gets a DHT provider
 * record, used on a catalog miss to find providers beyond gossip.
 */
export class Catalog extends TypedEventEmitter<CatalogEvents> {
  readonly #libp2p: Libp2p<MeshServices>
  readonly #registry: ToolRegistry
  readonly #pool: PeerPool
  readonly #init: CatalogInit
  readonly #topic: string
  readonly #peers = new Map<string, CatalogPeer>()
  readonly #fetching = new Map<string, Promise<void>>()
  /** Failed fetches per peer: attempt count and the pending retry. */
  readonly #fetchRetries = new Map<string, { attempts: number; timer?: NodeJS.Timeout }>()
  /** Verified descriptors by `name\0schemaHash` (insertion order = eviction order). */
  readonly #descriptors = new Map<string, McpTool>()
  #provideSoon?: NodeJS.Timeout
  /** Members identified but not advertised yet: listed directly if no advert comes first. */
  readonly #directPending = new Map<string, NodeJS.Timeout>()
  readonly #stats: CatalogStats = {
    peers: 0,
    tools: 0,
    directListings: 0,
    descriptorCacheHits: 0,
    descriptorFetches: 0,
    descriptorFetchErrors: 0,
    descriptorMismatches: 0,
    advertsReceived: 0,
    advertsRejected: 0,
    advertsIgnored: 0,
    advertsSent: 0,
    dhtProvided: 0,
    dhtLookups: 0
  }
  #seq = Date.now()
  #timers: NodeJS.Timeout[] = []
  #publishSoon?: NodeJS.Timeout
  #lastTriggeredPublish = 0
  #started = false
  #provideAbort?: AbortController
  readonly #onMessage = (event: CustomEvent<Message>): void => this.#handleMessage(event.detail)
  /**
   * A peer subscribed to the catalog topic: publish our advert for it (at
   * most once per SUBSCRIPTION_PUBLISH_MIN_INTERVAL_MS, so a mesh with
   * connection churn does not multiply adverts). gossipsub fires this event
   * for any subscription RPC, of any topic, and re-sends subscriptions on
   * every new stream: only a subscribe to our topic counts. A directly
   * connected newcomer that misses this advert (its stream was not open
   * yet) lists us directly instead (#onIdentify on its side).
   */
  readonly #onSubscriptionChange = (event: CustomEvent<SubscriptionChangeData>): void => {
    if (!event.detail.subscriptions.some((sub) => sub.topic === this.#topic && sub.subscribe)) return
    const wait = Math.max(20, this.#lastTriggeredPublish + SUBSCRIPTION_PUBLISH_MIN_INTERVAL_MS - Date.now())
    this.#lastTriggeredPublish = Date.now() + wait
    this.schedulePublish(wait)
  }
  readonly #onDisconnect = (event: CustomEvent<PeerId>): void => {
    // A connection can drop and come back (re-dials, duplicate connections
    // being closed): keep the peer for a grace period instead of flapping the
    // tool list; calls meanwhile re-dial it or fail over.
    const peer = this.#peers.get(event.detail.toString())
    if (peer != null) peer.disconnectedAt = Date.now()
  }
  /**
   * A member of our mesh connected (identify names our member protocol and
   * /mcp+p2p). Its advert normally follows within a gossip heartbeat, but
   * can take a whole advert interval (gossipsub drops messages for a peer
   * whose stream is not open yet); if none has come after a short delay its
   * tools are listed directly, so a newcomer sees a peer's tools about as
   * soon as it is connected. Adverts take over when they arrive.
   */
  readonly #onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols } = event.detail
    if (!protocols.includes(MCP_P2P_PROTOCOL) || !protocols.includes(memberProtocol(this.#init.meshName))) return
    const id = peerId.toString()
    const known = this.#peers.get(id)
    if (known != null) {
      // Advertised before we could reach it: now we can, fetch what is missing.
      if ([...known.tools.values()].some((tool) => tool.descriptor == null)) this.#fetchDescriptors(id)
      return
    }
    if (this.#directPending.has(id)) return
    const timer = setTimeout(() => {
      this.#directPending.delete(id)
      void this.#listDirectly(peerId)
    }, DIRECT_LISTING_DELAY_MS)
    timer.unref()
    this.#directPending.set(id, timer)
  }
  readonly #onConnect = (event: CustomEvent<PeerId>): void => {
    const peer = this.#peers.get(event.detail.toString())
    if (peer != null) peer.disconnectedAt = undefined
  }
  readonly #onRegistryChange = (event: CustomEvent<{ type: string; names: string[] }>): void => {
    log('registry %s: %s; publishing', event.detail.type, event.detail.names.join(', '))
    this.schedulePublish(50)
    clearTimeout(this.#provideSoon)
    this.#provideSoon = setTimeout(() => this.#provideAll(), PROVIDE_DEBOUNCE_MS)
    this.#provideSoon.unref()
  }

  constructor(libp2p: Libp2p<MeshServices>, registry: ToolRegistry, pool: PeerPool, init: CatalogInit) {
    super()
    this.#libp2p = libp2p
    this.#registry = registry
    this.#pool = pool
    this.#init = init
    this.#topic = catalogTopic(init.meshName)
  }

  get topic(): string {
    return this.#topic
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    const pubsub = this.#libp2p.services.pubsub
    pubsub.topicValidators.set(this.#topic, (peer, message) => this.#validate(peer, message))
    pubsub.addEventListener('message', this.#onMessage)
    pubsub.addEventListener('subscription-change', this.#onSubscriptionChange)
    pubsub.subscribe(this.#topic)
    this.#libp2p.addEventListener('peer:disconnect', this.#onDisconnect)
    this.#libp2p.addEventListener('peer:connect', this.#onConnect)
    this.#libp2p.addEventListener('peer:identify', this.#onIdentify)
    this.#registry.addEventListener('change', this.#onRegistryChange)
    this.#timers.push(setInterval(() => this.publish(), this.#init.advertIntervalMs))
    this.#timers.push(setInterval(() => this.#expire(), Math.max(250, Math.floor(this.#disconnectGraceMs / 2))))
    for (const timer of this.#timers) timer.unref()
    this.schedulePublish(0)
    this.#provideAll()
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#provideAbort?.abort()
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers = []
    clearTimeout(this.#publishSoon)
    this.#publishSoon = undefined
    clearTimeout(this.#provideSoon)
    for (const retry of this.#fetchRetries.values()) clearTimeout(retry.timer)
    this.#fetchRetries.clear()
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
    for (const timer of this.#directPending.values()) clearTimeout(timer)
    this.#directPending.clear()
    this.#registry.removeEventListener('change', this.#onRegistryChange)
    this.#peers.clear()
  }

  peers(): CatalogPeer[] {
    return [...this.#peers.values()]
  }

  peer(peerId: string): CatalogPeer | undefined {
    return this.#peers.get(peerId)
  }

  stats(): CatalogStats {
    let tools = 0
    for (const peer of this.#peers.values()) tools += peer.tools.size
    return { ...this.#stats, peers: this.#peers.size, tools }
  }

  /** Folds a measured round trip into the peer's smoothed latency. */
  recordLatency(peerId: string, ms: number): void {
    const peer = this.#peers.get(peerId)
    if (peer == null) return
    peer.latencyMs = peer.latencyMs == null ? ms : peer.latencyMs * 0.8 + ms * 0.2
  }

  /** Publishes our advert after `delayMs`, coalescing bursts of triggers. */
  schedulePublish(delayMs: number): void {
    if (!this.#started || this.#publishSoon != null) return
    this.#publishSoon = setTimeout(() => {
      this.#publishSoon = undefined
      this.publish()
    }, delayMs)
    this.#publishSoon.unref()
  }

  publish(): void {
    if (!this.#started) return
    const advert = this.ownAdvert()
    this.#libp2p.services.pubsub.publish(this.#topic, encodeAdvert(advert)).then(
      () => {
        this.#stats.advertsSent++
      },
      (err: unknown) => log('advert publish failed: %s', errorMessage(err))
    )
  }

  ownAdvert(): CatalogAdvert {
    const tools: AdvertTool[] = this.#registry
      .list()
      .filter((tool) => this.#init.isExported(tool.name))
      .map((tool) => ({
        name: tool.name,
        schemaHash: schemaHash(tool.inputSchema, tool.outputSchema),
        tags: tool.meta.tags,
        category: tool.meta.category,
        priority: tool.meta.priority,
        timeoutMs: tool.meta.timeoutMs,
        retry: tool.meta.retry
      }))
    return {
      v: ADVERT_VERSION,
      mesh: this.#init.meshName,
      peerId: this.#libp2p.peerId.toString(),
      seq: ++this.#seq,
      ts: Date.now(),
      capacity: this.#init.capacity(),
      load: this.#init.load(),
      worker: this.#init.worker?.(),
      tools,
      addrs: this.#libp2p
        .getMultiaddrs()
        .slice(0, MAX_ADVERT_ADDRS)
        .map((ma) => ma.toString())
    }
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
    const client = await this.#pool.get(peerIdFromString(peerId), { signal })
    const listed = await client.listTools(undefined, { signal })
    const existing = this.#peers.get(peerId)
    const peer: CatalogPeer = existing ?? {
      peerId,
      seq: 0,
      lastSeen: Date.now(),
      source,
      capacity: { maxConcurrency: 1 },
      load: { inFlight: 0, queued: 0 },
      tools: new Map()
    }
    peer.lastSeen = Date.now()
    for (const descriptor of listed.tools) {
      const meta = (descriptor._meta?.['mcp-mesh/meta'] ?? {}) as Partial<AdvertTool>
      peer.tools.set(descriptor.name, {
        advert: {
          name: descriptor.name,
          schemaHash: schemaHash(descriptor.inputSchema, descriptor.outputSchema),
          tags: Array.isArray(meta.tags) ? meta.tags : [],
          category: typeof meta.category === 'string' ? meta.category : 'general',
          priority: typeof meta.priority === 'number' ? meta.priority : 5,
          timeoutMs: typeof meta.timeoutMs === 'number' ? meta.timeoutMs : 30_000
        },
        descriptor
      })
    }
    this.#peers.set(peerId, peer)
    this.#changed(peerId, source)
    return peer
  }

  async #listDirectly(peerId: PeerId): Promise<void> {
    const id = peerId.toString()
    if (!this.#started || this.#peers.has(id) || this.#fetching.has(id)) return
    if (this.#libp2p.getConnections(peerId).length === 0) return
    const job = (async () => {
      try {
        await this.addFromDirectListing(id, AbortSignal.timeout(DIRECT_LISTING_TIMEOUT_MS), 'direct')
        this.#stats.directListings++
        log('listed %s directly (no advert yet)', id)
      } catch (err) {
        log('listing %s directly failed (its advert will list it): %s', id, errorMessage(err))
      } finally {
        this.#fetching.delete(id)
      }
    })()
    this.#fetching.set(id, job)
    await job
  }

  /** Finds providers of `tool` in the DHT and adds them; resolves with the first that offers it. */
  async lookup(tool: string, signal: AbortSignal): Promise<CatalogPeer | undefined> {
    this.#stats.dhtLookups++
    const cid = await toolProviderCid(this.#init.meshName, tool)
    const self = this.#libp2p.peerId.toString()
    for await (const provider of this.#libp2p.contentRouting.findProviders(cid, { signal })) {
      const id = provider.id.toString()
      if (id === self) continue
      try {
        if (provider.multiaddrs.length > 0)
          await this.#libp2p.peerStore.merge(provider.id, { multiaddrs: provider.multiaddrs })
        const peer = await this.addFromDirectListing(id, signal)
        if (peer?.tools.has(tool) === true) return peer
      } catch (err) {
        log('dht provider %s for %s failed: %s', id, tool, errorMessage(err))
      }
    }
    return undefined
  }

  #validate(peer: PeerId, message: Message): TopicValidatorResult {
    if (message.type !== 'signed') return this.#reject(peer, 'unsigned advert')
    if (message.data.byteLength > MAX_ADVERT_BYTES) return this.#reject(peer, 'advert too large')
    let advert: CatalogAdvert
    try {
      advert = decodeAdvert(message.data)
    } catch (err) {
      return this.#reject(peer, `malformed advert: ${errorMessage(err)}`)
    }
    if (advert.peerId !== message.from.toString())
      return this.#reject(peer, 'advert names a peer other than its signer')
    if (advert.mesh !== this.#init.meshName) return this.#reject(peer, `advert of mesh "${advert.mesh}"`)
    const known = this.#peers.get(advert.peerId)
    if (known != null && known.source === 'gossip' && advert.seq <= known.seq) {
      this.#stats.advertsIgnored++
      return TopicValidatorResult.Ignore
    }
    return TopicValidatorResult.Accept
  }

  #reject(peer: PeerId, reason: string): TopicValidatorResult {
    this.#stats.advertsRejected++
    log('rejected catalog advert relayed by %p: %s', peer, reason)
    return TopicValidatorResult.Reject
  }

  #handleMessage(message: Message): void {
    if (message.topic !== this.#topic) return
    let advert: CatalogAdvert
    try {
      advert = decodeAdvert(message.data)
    } catch {
      return
    }
    if (advert.peerId === this.#libp2p.peerId.toString()) return
    this.#stats.advertsReceived++
    const previous = this.#peers.get(advert.peerId)
    if (previous != null && previous.source === 'gossip' && advert.seq <= previous.seq) return
    const tools = new Map<string, CatalogTool>()
    let missing = false
    for (const tool of advert.tools) {
      const old = previous?.tools.get(tool.name)
      let descriptor = old?.advert.schemaHash === tool.schemaHash ? old.descriptor : undefined
      if (descriptor == null) {
        descriptor = this.#descriptors.get(descriptorKey(tool.name, tool.schemaHash))
        if (descriptor != null) this.#stats.descriptorCacheHits++
      }
      if (descriptor == null) missing = true
      tools.set(tool.name, { advert: tool, descriptor })
    }
    const changed =
      previous == null ||
      previous.tools.size !== tools.size ||
      [...tools].some(([name, tool]) => previous.tools.get(name)?.advert.schemaHash !== tool.advert.schemaHash)
    this.#peers.set(advert.peerId, {
      peerId: advert.peerId,
      seq: advert.seq,
      lastSeen: Date.now(),
      source: 'gossip',
      capacity: advert.capacity,
      load: advert.load,
      worker: advert.worker,
      tools,
      latencyMs: previous?.latencyMs,
      disconnectedAt: previous?.disconnectedAt
    })
    if (previous == null) log('advert from new peer %s (%d tools)', advert.peerId, advert.tools.length)
    if (missing) {
      // Addresses first, so the fetch dials at once instead of looking the peer up in the DHT.
      const addrs = previous == null ? dialableAddrs(advert.addrs) : []
      if (addrs.length > 0) {
        this.#libp2p.peerStore
          .merge(peerIdFromString(advert.peerId), { multiaddrs: addrs })
          .catch((err: unknown) => log('storing addresses of %s failed: %s', advert.peerId, errorMessage(err)))
          .finally(() => this.#fetchDescriptors(advert.peerId))
      } else {
        this.#fetchDescriptors(advert.peerId)
      }
    } else if (changed) this.#changed(advert.peerId, 'advert')
  }

  /**
   * Fetches a peer's descriptors (one fetch per peer at a time); the catalog
   * lists a tool only once it has one. A descriptor is kept only if its
   * schemas hash to what the peer advertised, so a peer cannot pass off other
   * schemas under a hash, and the (name, hash) cache stays sound. A failed
   * fetch is retried with backoff while the peer is still advertised.
   */
  #fetchDescriptors(peerId: string): void {
    if (this.#fetching.has(peerId) || this.#fetchRetries.get(peerId)?.timer != null) return
    const job = (async () => {
      const started = Date.now()
      this.#stats.descriptorFetches++
      try {
        const client = await this.#pool.get(peerIdFromString(peerId))
        const listed = await client.listTools()
        log('fetched %d descriptors from %s in %d ms', listed.tools.length, peerId, Date.now() - started)
        this.#fetchRetries.delete(peerId)
        const peer = this.#peers.get(peerId)
        if (peer == null) return
        for (const descriptor of listed.tools) {
          const entry = peer.tools.get(descriptor.name)
          if (entry == null) continue
          if (schemaHash(descriptor.inputSchema, descriptor.outputSchema) !== entry.advert.schemaHash) {
            this.#stats.descriptorMismatches++
            log('%s listed %s with schemas other than it advertised; not listed', peerId, descriptor.name)
            continue
          }
          entry.descriptor = descriptor
          this.#cacheDescriptor(descriptorKey(descriptor.name, entry.advert.schemaHash), descriptor)
        }
        this.#changed(peerId, 'descriptors')
      } catch (err) {
        this.#stats.descriptorFetchErrors++
        log('fetching tools/list from %s failed: %s', peerId, errorMessage(err))
        this.#scheduleFetchRetry(peerId)
      } finally {
        this.#fetching.delete(peerId)
      }
    })()
    this.#fetching.set(peerId, job)
  }

  #scheduleFetchRetry(peerId: string): void {
    const retry = this.#fetchRetries.get(peerId) ?? { attempts: 0 }
    retry.attempts++
    this.#fetchRetries.set(peerId, retry)
    // Past the last attempt the next advert (seq > last) starts over.
    if (!this.#started || retry.attempts > DESCRIPTOR_RETRY_ATTEMPTS) {
      this.#fetchRetries.delete(peerId)
      return
    }
    retry.timer = setTimeout(
      () => {
        retry.timer = undefined
        const peer = this.#peers.get(peerId)
        if (peer == null || ![...peer.tools.values()].some((tool) => tool.descriptor == null)) {
          this.#fetchRetries.delete(peerId)
          return
        }
        this.#fetchDescriptors(peerId)
      },
      DESCRIPTOR_RETRY_INITIAL_MS * 2 ** (retry.attempts - 1)
    )
    retry.timer.unref()
  }

  #cacheDescriptor(key: string, descriptor: McpTool): void {
    this.#descriptors.delete(key)
    this.#descriptors.set(key, descriptor)
    if (this.#descriptors.size > MAX_CACHED_DESCRIPTORS) {
      const oldest = this.#descriptors.keys().next().value
      if (oldest != null) this.#descriptors.delete(oldest)
    }
  }

  /** How long a disconnected peer stays listed (bounded by the silence TTL). */
  get #disconnectGraceMs(): number {
    return Math.min(DISCONNECT_GRACE_MS, this.#init.peerTtlMs)
  }

  #expire(): void {
    const now = Date.now()
    const cutoff = now - this.#init.peerTtlMs
    for (const [peerId, peer] of this.#peers) {
      const gone = peer.disconnectedAt != null && now - peer.disconnectedAt >= this.#disconnectGraceMs
      if (peer.lastSeen < cutoff || gone) {
        this.#peers.delete(peerId)
        log('dropped %s peer %s from the catalog', gone ? 'disconnected' : 'silent', peerId)
        this.#changed(peerId, gone ? 'disconnected' : 'expired')
      }
    }
  }

  #changed(peer: string, reason: CatalogEvents['change']['detail']['reason']): void {
    this.safeDispatchEvent('change', { detail: { peer, reason } })
  }

  /** (Re-)announces a DHT provider record per exported tool, in the background. */
  #provideAll(): void {
    if (!this.#init.dhtProvide || !this.#started) return
    this.#provideAbort?.abort()
    const controller = new AbortController()
    this.#provideAbort = controller
    const names = this.#registry
      .list()
      .filter((tool) => this.#init.isExported(tool.name))
      .map((tool) => tool.name)
    void (async () => {
      for (const name of names) {
        if (controller.signal.aborted) return
        try {
          await this.#libp2p.contentRouting.provide(await toolProviderCid(this.#init.meshName, name), {
            signal: controller.signal
          })
          this.#stats.dhtProvided++
        } catch (err) {
          log('providing %s in the DHT failed: %s', name, errorMessage(err))
        }
      }
    })()
  }
}
