import { randomBytes } from 'node:crypto'
import type { Connection, IdentifyResult, Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import type { MeshConfig } from '../config/schema.js'
import { meshTopics } from '../mesh/topics.js'
import { DEFAULT_BOOTSTRAP_PEERS } from './bootstrappers.js'
import type { MeshServices } from '../interface/libp2p.js'
import type { NodeSubsystem } from '../interface/subsystem.js'
import type { ToolRegistry } from '../tools/registry.js'
import type { Tool } from '../tools/types.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { isCircuit, parseDialTarget, parsePeerId } from './address.js'
import { BootstrapKeeper, type BootstrapPeerStatus } from './bootstrap-keeper.js'
import { memberProtocol } from './constants.js'
import { ConnectionUpkeep, type ConnectionUpkeepStatus } from './connection-upkeep.js'
import { PeerDialError, PeerNotConnectedError, UnknownPeerError } from './errors.js'
import { KnownPeers, type KnownPeersStatus } from './known-peers.js'
import { DirectUpgrade, type DirectUpgradeStatus } from './direct-upgrade.js'
import { membershipOf } from './membership.js'
import { type MeshLookupResult, MeshNameJoin, type MeshNameStatus } from './mesh-name.js'
import { type ConnectionDescription, describeConnections, describePeer, type PeerDetails } from './peer-details.js'
import { ReachabilityMonitor, type ReachabilityStatus, routingTableSize } from './reachability.js'
import { readSwarmKey, swarmKeyFingerprint, swarmKeyPath } from './swarm-key.js'

const log = meshLogger('discovery')

const EMPTY_ROUTING_TABLE = 'the DHT routing table is empty: no peer to ask (connect to a peer first)'

/** What discovery needs from the node (MeshNode satisfies it). */
export interface DiscoveryHost {
  readonly home: string
  readonly config: MeshConfig
  readonly libp2p: Libp2p<MeshServices>
  readonly registry: ToolRegistry
  subsystem?(name: string): NodeSubsystem | undefined
}

/** The mesh layer's hook for `peer_list` (src/mesh/service.ts `describeConnections`). */
interface ConnectionDescriberHook {
  describeConnections?: (peer: PeerId) => Array<Record<string, unknown>>
}

export const DISCOVERY_METHODS = ['bootstrap', 'known', 'mdns', 'dht', 'mesh'] as const
export type DiscoveryMethod = (typeof DISCOVERY_METHODS)[number]

export interface TopicStatus {
  topic: string
  subscribed: boolean
  /** Peers known to be subscribed to the topic. */
  subscribers: number
  /** Peers in our gossipsub mesh for the topic. */
  meshPeers: number
}

export interface DiscoveryStatus {
  mesh: string
  reachability: ReachabilityStatus['reachability']
  autonat: { enabled: boolean; publicAddresses: string[]; unverifiedAddresses: string[] }
  addresses: {
    listen: string[]
    announce: string[]
    noAnnounce: string[]
    advertised: string[]
  }
  dht: ReachabilityStatus['dht'] & { enabled: boolean }
  relay: {
    server: { enabled: boolean; reservations: number }
    client: ReachabilityStatus['relayClient']
  }
  dcutr: boolean
  /** Relayed connections replaced by a direct dial to the peer's advertised (also private) addresses. */
  directUpgrade: DirectUpgradeStatus
  upnp: boolean
  mdns: { enabled: boolean; serviceTag: string; discovered: number }
  pnet: { enabled: boolean; keyFile?: string; fingerprint?: string }
  connections: {
    peers: number
    total: number
    direct: number
    relayed: number
    inbound: number
    outbound: number
    members: number
  }
  bootstrap: BootstrapPeerStatus[]
  knownPeers: KnownPeersStatus
  meshName: MeshNameStatus
  upkeep: ConnectionUpkeepStatus
  topics: TopicStatus[]
}

export interface ConnectResult {
  peer: string
  /** The peer was connected before: libp2p reuses an open connection whatever address was given. */
  alreadyConnected: boolean
  address?: string
  relayed: boolean
  connections: ConnectionDescription[]
  latencyMs?: number
  durationMs: number
}

export interface DiscoverReport {
  durationMs: number
  connectedBefore: number
  connectedAfter: number
  bootstrap?: { peers: number; connected: number; states: BootstrapPeerStatus[] }
  known?: { attempted: string[]; connected: string[]; errors: Record<string, string> }
  mdns?: { enabled: boolean; found: string[]; error?: string }
  dht?: { routingTableBefore: number; routingTableAfter: number; found: string[]; error?: string }
  mesh?: (Omit<MeshLookupResult, 'errors'> & { errors: Record<string, string>; cid?: string }) | { error: string }
}

interface MdnsService extends EventTarget {
  /** The multicast-dns socket of @libp2p/mdns (not part of its typed API). */
  mdns?: { query(query: { questions: Array<{ name: string; type: string }> }): void }
}

/**
 * Joining and staying in a mesh: bootstrap peers kept with backoff, known
 * peers re-dialled on start, mDNS peers dialled, join by mesh name through
 * the DHT, DHT mode and relay reservations that follow reachability, and the
 * connection upkeep. Reports into `mesh_status.subsystems.discovery`.
 */
export class Discovery implements NodeSubsystem {
  readonly name = 'discovery'
  readonly #host: DiscoveryHost
  readonly #tools: () => Tool[]
  #bootstrap?: BootstrapKeeper
  #known?: KnownPeers
  #directUpgrade?: DirectUpgrade
  #reachability?: ReachabilityMonitor
  #meshName?: MeshNameJoin
  #upkeep?: ConnectionUpkeep
  #mdns?: MdnsService
  #mdnsDiscovered = new Set<string>()
  #registered: string[] = []
  #pnet: DiscoveryStatus['pnet'] = { enabled: false }
  #started = false
  #startup?: Promise<void>
  #stopController?: AbortController

  constructor(host: DiscoveryHost, tools: (discovery: Discovery) => Tool[]) {
    this.#host = host
    this.#tools = () => tools(this)
  }

  get libp2p(): Libp2p<MeshServices> {
    return this.#host.libp2p
  }

  get meshName(): string {
    return this.#host.config.mesh.name
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#stopController = new AbortController()
    const { config } = this.#host
    const libp2p = this.libp2p
    const backoff = {
      initialMs: config.discovery.bootstrap.backoffInitialMs,
      maxMs: Math.max(config.discovery.bootstrap.backoffInitialMs, config.discovery.bootstrap.backoffMaxMs)
    }
    const dialTimeoutMs = config.connections.dialTimeoutMs

    // Membership is visible to every peer through identify.
    await libp2p.handle(
      memberProtocol(this.meshName),
      (stream) => {
        void stream.close().catch(() => {})
      },
      { maxInboundStreams: 1, maxOutboundStreams: 1, runOnLimitedConnection: true }
    )
    libp2p.addEventListener('peer:identify', this.#onIdentify)
    libp2p.addEventListener('peer:disconnect', this.#onDisconnect)
    // Peers identified before discovery started (inbound connections during node start).
    for (const peerId of libp2p.getPeers()) {
      const record = await libp2p.peerStore.get(peerId).catch(() => undefined)
      if (record != null && membershipOf(record.protocols, this.meshName).membership === 'member') {
        this.#members.add(peerId.toString())
      }
    }

    const swarmKey = await readSwarmKey(this.#host.home).catch(() => undefined)
    this.#pnet =
      swarmKey != null
        ? {
            enabled: true,
            keyFile: swarmKeyPath(this.#host.home),
            fingerprint: await swarmKeyFingerprint(swarmKey).catch(() => undefined)
          }
        : { enabled: false }

    this.#known = new KnownPeers(libp2p, {
      mesh: this.meshName,
      enabled: config.discovery.knownPeers.enabled,
      redial: config.discovery.knownPeers.redial,
      forgetAfterMs: config.discovery.knownPeers.forgetAfterMs,
      dialTimeoutMs,
      backoff
    })
    this.#known.start()
    this.#directUpgrade = new DirectUpgrade(libp2p, { enabled: config.nat.dcutr, dialTimeoutMs })
    this.#directUpgrade.start()
    this.#bootstrap = new BootstrapKeeper(libp2p, {
      addresses: [...DEFAULT_BOOTSTRAP_PEERS, ...config.bootstrap],
      backoff,
      dialTimeoutMs
    })
    this.#bootstrap.start()
    this.#reachability = new ReachabilityMonitor(libp2p, libp2p.services.meshInternals, {
      dhtMode: config.discovery.dht.mode,
      relayClient: config.relay.client,
      relayListening: libp2p.services.meshInternals.getListenAddrs().some((ma) => isCircuit(ma))
    })
    this.#reachability.start()
    this.#upkeep = new ConnectionUpkeep(libp2p, {
      mesh: this.meshName,
      minConnections: config.connections.minConnections,
      isolate: config.mesh.isolate,
      knownPeers: this.#known
    })
    this.#upkeep.start()
    this.#meshName = new MeshNameJoin(libp2p, {
      mesh: this.meshName,
      enabled: config.discovery.meshName.enabled,
      lookupIntervalMs: config.discovery.meshName.lookupIntervalMs,
      targetPeers: config.discovery.meshName.targetPeers,
      dialTimeoutMs
    })
    await this.#meshName.start()

    const mdns = libp2p.services.mdns as MdnsService | undefined
    if (mdns != null) {
      this.#mdns = mdns
      mdns.addEventListener('peer', this.#onMdnsPeer)
    }

    // Rejoin from the peer store: the last good peers, even without bootstrap peers.
    if (config.discovery.knownPeers.enabled && config.discovery.knownPeers.redial > 0) {
      this.#startup = this.#known
        .redial({ signal: this.#stopController.signal })
        .then(() => undefined)
        .catch((err: unknown) => log('re-dialling known peers failed: %s', errorMessage(err)))
    }

    // peer_list (mesh layer) shows direct/relayed connections through this.
    const mesh = this.#host.subsystem?.('mesh') as ConnectionDescriberHook | undefined
    if (mesh != null) {
      mesh.describeConnections = (peer) =>
        describeConnections(libp2p, peer) as unknown as Array<Record<string, unknown>>
    }

    const tools = this.#tools()
    this.#host.registry.registerAll(tools)
    this.#registered = tools.map((tool) => tool.name)
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    const mesh = this.#host.subsystem?.('mesh') as ConnectionDescriberHook | undefined
    if (mesh != null) mesh.describeConnections = undefined
    for (const name of this.#registered) this.#host.registry.unregister(name)
    this.#registered = []
    this.libp2p.removeEventListener('peer:identify', this.#onIdentify)
    this.libp2p.removeEventListener('peer:disconnect', this.#onDisconnect)
    this.#members.clear()
    this.#mdns?.removeEventListener('peer', this.#onMdnsPeer)
    this.#mdns = undefined
    this.#stopController?.abort()
    this.#bootstrap?.stop()
    this.#directUpgrade?.stop()
    await this.#meshName?.stop()
    await this.#upkeep?.stop()
    await this.#reachability?.stop()
    await this.#startup
    await this.#known?.stop()
    await this.libp2p.unhandle(memberProtocol(this.meshName)).catch(() => {})
  }

  status(): DiscoveryStatus | { mesh: string; running: false } {
    if (this.#reachability == null || this.#bootstrap == null || this.#known == null) {
      return { mesh: this.meshName, running: false }
    }
    const { config } = this.#host
    const libp2p = this.libp2p
    const reach = this.#reachability.status()
    const connections = libp2p.getConnections()
    const relayed = connections.filter((c) => !c.direct || isCircuit(c.remoteAddr)).length
    const peers = new Set(connections.map((c) => c.remotePeer.toString()))
    return {
      mesh: this.meshName,
      reachability: reach.reachability,
      autonat: {
        enabled: config.nat.autonat,
        publicAddresses: reach.publicAddresses,
        unverifiedAddresses: reach.unverifiedAddresses
      },
      addresses: {
        listen: reach.listenAddresses,
        announce: reach.announceAddresses,
        noAnnounce: [...config.addresses.noAnnounce],
        advertised: reach.advertisedAddresses
      },
      dht: { enabled: config.discovery.dht.enabled, ...reach.dht },
      relay: {
        server: { enabled: config.relay.server, reservations: libp2p.services.relay?.reservations.size ?? 0 },
        client: reach.relayClient
      },
      dcutr: config.nat.dcutr,
      directUpgrade: this.#directUpgrade?.status() ?? { enabled: false, attempted: 0, upgraded: 0, failed: 0 },
      upnp: config.nat.upnp,
      mdns: {
        enabled: config.discovery.mdns.enabled,
        serviceTag: config.discovery.mdns.serviceTag,
        discovered: this.#mdnsDiscovered.size
      },
      pnet: { ...this.#pnet },
      connections: {
        peers: peers.size,
        total: connections.length,
        direct: connections.length - relayed,
        relayed,
        inbound: connections.filter((c) => c.direction === 'inbound').length,
        outbound: connections.filter((c) => c.direction === 'outbound').length,
        members: this.#memberCount(connections)
      },
      bootstrap: this.#bootstrap.status(),
      knownPeers: this.#known.status(),
      meshName: this.#meshName!.status(),
      upkeep: this.#upkeep!.status(),
      topics: this.topics()
    }
  }

  async health(): Promise<{ ok: boolean; detail: string }> {
    const status = this.status()
    if (!('reachability' in status)) return { ok: false, detail: 'discovery is not running' }
    const bootstrapUp = status.bootstrap.filter((b) => b.state === 'connected').length
    const parts = [
      `${status.reachability}`,
      `${status.connections.peers} peers (${status.connections.members} members, ${status.connections.relayed} relayed connections)`,
      `dht ${status.dht.mode} with ${status.dht.routingTableSize} peers`
    ]
    if (status.bootstrap.length > 0) parts.push(`bootstrap ${bootstrapUp}/${status.bootstrap.length} connected`)
    // Isolated although it was told where the mesh is.
    const isolated = status.connections.peers === 0 && status.bootstrap.length > 0
    return { ok: !isolated, detail: `${isolated ? 'isolated: no bootstrap peer reachable; ' : ''}${parts.join(', ')}` }
  }

  topics(): TopicStatus[] {
    const pubsub = this.libp2p.services.pubsub
    const subscribed = new Set(pubsub.getTopics())
    const meshPeers = (pubsub as unknown as { getMeshPeers?: (topic: string) => string[] }).getMeshPeers
    return meshTopics(this.meshName).map((topic) => ({
      topic,
      subscribed: subscribed.has(topic),
      subscribers: pubsub.getSubscribers(topic).length,
      meshPeers: meshPeers?.call(pubsub, topic).length ?? 0
    }))
  }

  bootstrapStatus(): BootstrapPeerStatus[] {
    return this.#bootstrap?.status() ?? []
  }

  async peerInfo(peer: string, options: { ping?: boolean; signal?: AbortSignal } = {}): Promise<PeerDetails> {
    const peerId = parsePeerId(peer)
    const details = await describePeer(this.libp2p, peerId, {
      mesh: this.meshName,
      ping: options.ping,
      signal: options.signal
    })
    if (details == null) throw new UnknownPeerError(peer)
    return details
  }

  /** Dials a multiaddr (or a PeerId, found through the peer store or the DHT). */
  async connect(target: string, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ConnectResult> {
    const parsed = parseDialTarget(target)
    const started = Date.now()
    const signals = [AbortSignal.timeout(options.timeoutMs ?? this.#host.config.connections.dialTimeoutMs)]
    if (options.signal != null) signals.push(options.signal)
    const signal = AbortSignal.any(signals)
    if (parsed.kind === 'multiaddr' && parsed.peerId?.equals(this.libp2p.peerId) === true) {
      throw new PeerDialError(target, 'that is this node')
    }
    if (parsed.kind === 'peer' && parsed.peerId.equals(this.libp2p.peerId)) {
      throw new PeerDialError(target, 'that is this node')
    }
    const targetPeer = parsed.peerId
    const alreadyConnected = targetPeer != null && this.libp2p.getConnections(targetPeer).length > 0
    let connection: Connection
    try {
      connection = await this.libp2p.dial(parsed.kind === 'multiaddr' ? parsed.multiaddr : parsed.peerId, { signal })
    } catch (err) {
      let reason = dialErrorReason(err, signal, options.signal)
      const unknown = parsed.kind === 'peer' && !(await this.libp2p.peerStore.has(parsed.peerId).catch(() => false))
      if (unknown && options.signal?.aborted !== true) {
        reason = `no address known for this peer (not in the peer store, and the DHT did not find it${signal.aborted ? ' in time' : ''})`
      }
      throw new PeerDialError(target, reason, { cause: err })
    }
    const peerId = connection.remotePeer
    let latencyMs: number | undefined
    try {
      latencyMs = await this.libp2p.services.ping.ping(peerId, { signal: AbortSignal.any([...signals]) })
    } catch {
      // latency is informative only
    }
    const connections = describeConnections(this.libp2p, peerId)
    const result: ConnectResult = {
      peer: peerId.toString(),
      alreadyConnected,
      address: connection.remoteAddr.toString(),
      relayed: connections.length > 0 && connections.every((c) => c.relayed),
      connections,
      durationMs: Date.now() - started
    }
    if (latencyMs != null) result.latencyMs = latencyMs
    return result
  }

  async disconnect(peer: string, options: { signal?: AbortSignal } = {}): Promise<{ peer: string; closed: number }> {
    const peerId = parsePeerId(peer)
    const count = this.libp2p.getConnections(peerId).length
    if (count === 0) {
      if (await this.libp2p.peerStore.has(peerId)) throw new PeerNotConnectedError(peer)
      throw new UnknownPeerError(peer)
    }
    await this.libp2p.hangUp(peerId, { signal: options.signal })
    return { peer, closed: count }
  }

  /** Runs the chosen discovery methods now (all by default) and reports what each found. */
  async discover(
    options: { methods?: readonly DiscoveryMethod[]; timeoutMs?: number; signal?: AbortSignal } = {}
  ): Promise<DiscoverReport> {
    const methods = new Set(options.methods ?? DISCOVERY_METHODS)
    const timeoutMs = options.timeoutMs ?? 5_000
    const signals = [AbortSignal.timeout(timeoutMs)]
    if (options.signal != null) signals.push(options.signal)
    const signal = AbortSignal.any(signals)
    const started = Date.now()
    const peersNow = (): number => new Set(this.libp2p.getConnections().map((c) => c.remotePeer.toString())).size
    const report: DiscoverReport = { durationMs: 0, connectedBefore: peersNow(), connectedAfter: 0 }
    const jobs: Array<Promise<void>> = []
    if (methods.has('bootstrap')) {
      jobs.push(
        (async () => {
          const states = await this.#bootstrap!.redialNow(signal)
          report.bootstrap = {
            peers: states.length,
            connected: states.filter((s) => s.state === 'connected').length,
            states
          }
        })()
      )
    }
    if (methods.has('known')) {
      jobs.push(
        (async () => {
          report.known = await this.#known!.redial({ force: true, signal })
        })()
      )
    }
    if (methods.has('mdns')) jobs.push(this.#discoverMdns(report, Math.min(timeoutMs, 2_000), signal))
    if (methods.has('dht')) jobs.push(this.#discoverDht(report, signal))
    if (methods.has('mesh')) {
      jobs.push(
        (async () => {
          if (routingTableSize(this.libp2p.services.dht) === 0) {
            report.mesh = { error: EMPTY_ROUTING_TABLE }
            return
          }
          try {
            const result = await this.#meshName!.lookup({ signal })
            report.mesh = { ...result, cid: this.#meshName!.status().cid }
          } catch (err) {
            report.mesh = { error: errorMessage(err) }
          }
        })()
      )
    }
    await Promise.all(jobs)
    report.durationMs = Date.now() - started
    report.connectedAfter = peersNow()
    return report
  }

  async #discoverMdns(report: DiscoverReport, windowMs: number, signal: AbortSignal): Promise<void> {
    const mdns = this.#mdns
    if (mdns == null) {
      report.mdns = { enabled: false, found: [] }
      return
    }
    const found = new Set<string>()
    const onPeer = (event: Event): void => {
      found.add((event as CustomEvent<PeerInfo>).detail.id.toString())
    }
    mdns.addEventListener('peer', onPeer)
    try {
      mdns.mdns?.query({ questions: [{ name: this.#host.config.discovery.mdns.serviceTag, type: 'PTR' }] })
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, windowMs)
        signal.addEventListener('abort', () => {
          clearTimeout(timer)
          resolve()
        })
      })
      report.mdns = { enabled: true, found: [...found] }
    } catch (err) {
      report.mdns = { enabled: true, found: [...found], error: errorMessage(err) }
    } finally {
      mdns.removeEventListener('peer', onPeer)
    }
  }

  async #discoverDht(report: DiscoverReport, signal: AbortSignal): Promise<void> {
    const dht = this.libp2p.services.dht
    const before = routingTableSize(dht)
    if (before === 0) {
      report.dht = { routingTableBefore: 0, routingTableAfter: 0, found: [], error: EMPTY_ROUTING_TABLE }
      return
    }
    const found = new Set<string>()
    let error: string | undefined
    // A self lookup (our neighbourhood) and a random walk step (a random key).
    const keys = [this.libp2p.peerId.toMultihash().bytes, new Uint8Array(randomBytes(32))]
    await Promise.all(
      keys.map(async (key) => {
        try {
          for await (const event of dht.getClosestPeers(key, { signal })) {
            if (event.name === 'FINAL_PEER' && !event.peer.id.equals(this.libp2p.peerId)) {
              found.add(event.peer.id.toString())
            }
          }
        } catch (err) {
          if (!signal.aborted) error = errorMessage(err)
        }
      })
    )
    report.dht = {
      routingTableBefore: before,
      routingTableAfter: routingTableSize(dht),
      found: [...found]
    }
    if (error != null) report.dht.error = error
  }

  #memberCount(connections: Connection[]): number {
    const connected = new Set(connections.map((c) => c.remotePeer.toString()))
    let members = 0
    for (const id of connected) if (this.#members.has(id)) members++
    return members
  }

  /** Connected peers that identified as members of our mesh (kept here so status() needs no peer-store reads). */
  readonly #members = new Set<string>()

  readonly #onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols } = event.detail
    if (membershipOf(protocols, this.meshName).membership === 'member') this.#members.add(peerId.toString())
    else this.#members.delete(peerId.toString())
  }

  readonly #onDisconnect = (event: CustomEvent<PeerId>): void => {
    this.#members.delete(event.detail.toString())
  }

  readonly #onMdnsPeer = (event: Event): void => {
    const peer = (event as CustomEvent<PeerInfo>).detail
    if (peer.id.equals(this.libp2p.peerId)) return
    this.#mdnsDiscovered.add(peer.id.toString())
    if (this.libp2p.getConnections(peer.id).length > 0) return
    const { maxConnections } = this.#host.config.connections
    if (this.libp2p.getConnections().length >= maxConnections * 0.8) return
    // A peer without our swarm key (or of another mesh) is found too: with pnet
    // the dial then fails closed in the handshake.
    this.libp2p
      .dial(peer.id, { signal: AbortSignal.timeout(this.#host.config.connections.dialTimeoutMs) })
      .catch((err: unknown) => log('mDNS peer %s: dial failed: %s', peer.id.toString(), errorMessage(err)))
  }
}

function dialErrorReason(err: unknown, signal: AbortSignal, callerSignal?: AbortSignal): string {
  if (callerSignal?.aborted === true) return 'cancelled'
  if (signal.aborted) return 'timed out'
  const name = (err as { name?: string })?.name
  const message = errorMessage(err)
  if (name === 'NoValidAddressesError') return `no dialable address (${message})`
  if (name === 'UnexpectedPeerError') return `the address belongs to another peer (${message})`
  if (name === 'AggregateError' && Array.isArray((err as AggregateError).errors)) {
    const inner = (err as AggregateError).errors.map((e: unknown) => errorMessage(e)).join('; ')
    return inner !== '' ? inner : message
  }
  return name != null && name !== 'Error' ? `${name}: ${message}` : message
}
