import type { Libp2p } from '@libp2p/interface'
import type { MeshServices } from '../interface/libp2p.js'
import type { Tool } from '../tools/types.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { isCircuit } from './address.js'
import { BootstrapKeeper, type BootstrapPeerStatus } from './bootstrap-keeper.js'
import { DEFAULT_BOOTSTRAP_PEERS } from './bootstrappers.js'
import { ConnectionUpkeep } from './connection-upkeep.js'
import { memberProtocol } from './constants.js'
import { DirectUpgrade } from './direct-upgrade.js'
import { DiscoveryNotRunningError } from './errors.js'
import { type DiscoverOptions, type DiscoverReport, discoverNow } from './discover.js'
import type { Discovery, DiscoveryComponents, DiscoveryInit } from './index.js'
import { KnownPeers } from './known-peers.js'
import { MdnsDialer, type MdnsService } from './mdns.js'
import { MemberTracker } from './member-tracker.js'
import { MeshNameJoin } from './mesh-name.js'
import {
  type ConnectOptions,
  type ConnectResult,
  connectPeer,
  type DisconnectResult,
  disconnectPeer,
  type PeerInfoOptions,
  peerInfo
} from './peer-actions.js'
import type { PeerDetails } from './peer-details.js'
import { ReachabilityMonitor } from './reachability.js'
import {
  buildStatus,
  type DiscoveryNotRunning,
  type DiscoveryStatus,
  healthOf,
  type PnetStatus,
  type TopicStatus,
  topicsStatus
} from './status.js'
import { readSwarmKey, swarmKeyFingerprint, swarmKeyPath } from './swarm-key.js'
import { peerTools } from './tools/index.js'

export type { ConnectResult, DiscoverReport, DiscoveryStatus, TopicStatus }
export { DISCOVERY_METHODS, type DiscoveryMethod } from './discover.js'

const log = meshLogger('discovery')

/** The parts a started discovery runs. */
interface Running {
  members: MemberTracker
  mdns: MdnsDialer
  known: KnownPeers
  directUpgrade: DirectUpgrade
  bootstrap: BootstrapKeeper
  reachability: ReachabilityMonitor
  upkeep: ConnectionUpkeep
  meshName: MeshNameJoin
}

/**
 * Joining and staying in a mesh: bootstrap peers kept with backoff, known
 * peers re-dialled on start, mDNS peers dialled, join by mesh name through
 * the DHT, DHT mode and relay reservations that follow reachability, and the
 * connection upkeep. Reports into `mesh_status.subsystems.discovery`.
 */
export class DiscoveryService implements Discovery {
  readonly name = 'discovery'
  readonly #init: DiscoveryInit
  readonly #libp2p: Libp2p<MeshServices>
  /** Filled in as start() creates each part, so stop() also undoes a start that failed half-way. */
  #parts: Partial<Running> = {}
  #pnet: PnetStatus = { enabled: false }
  #started = false
  #startup?: Promise<void>
  #stopController?: AbortController

  readonly #gate?: DiscoveryComponents['gate']

  constructor(init: DiscoveryInit, components: DiscoveryComponents) {
    this.#init = init
    this.#libp2p = components.libp2p
    this.#gate = components.gate
  }

  /** Every part, once start() has created them all. */
  #running(): Running | undefined {
    const { members, mdns, known, directUpgrade, bootstrap, reachability, upkeep, meshName } = this.#parts
    if (members == null || mdns == null || known == null || directUpgrade == null || bootstrap == null) return undefined
    if (reachability == null || upkeep == null || meshName == null) return undefined
    return { members, mdns, known, directUpgrade, bootstrap, reachability, upkeep, meshName }
  }

  get #mesh(): string {
    return this.#init.config.mesh.name
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#stopController = new AbortController()
    const { config, home } = this.#init
    const libp2p = this.#libp2p
    const mesh = this.#mesh
    const backoff = {
      initialMs: config.discovery.bootstrap.backoffInitialMs,
      maxMs: Math.max(config.discovery.bootstrap.backoffInitialMs, config.discovery.bootstrap.backoffMaxMs)
    }
    const dialTimeoutMs = config.connections.dialTimeoutMs

    // Membership is visible to every peer through identify.
    await libp2p.handle(
      memberProtocol(mesh),
      (stream) => {
        void stream.close().catch(() => {})
      },
      { maxInboundStreams: 1, maxOutboundStreams: 1, runOnLimitedConnection: true }
    )
    const parts: Partial<Running> = {}
    this.#parts = parts
    const members = new MemberTracker(libp2p, mesh)
    parts.members = members
    await members.start()

    const swarmKey = await readSwarmKey(home).catch(() => undefined)
    this.#pnet =
      swarmKey != null
        ? {
            enabled: true,
            keyFile: swarmKeyPath(home),
            fingerprint: await swarmKeyFingerprint(swarmKey).catch(() => undefined)
          }
        : { enabled: false }

    const known = new KnownPeers(libp2p, {
      mesh,
      enabled: config.discovery.knownPeers.enabled,
      redial: config.discovery.knownPeers.redial,
      forgetAfterMs: config.discovery.knownPeers.forgetAfterMs,
      dialTimeoutMs,
      backoff,
      admits: (peer) => this.#gate?.admits(peer).allowed ?? true
    })
    parts.known = known
    known.start()
    const directUpgrade = new DirectUpgrade(libp2p, { enabled: config.nat.dcutr, dialTimeoutMs })
    parts.directUpgrade = directUpgrade
    directUpgrade.start()
    const bootstrap = new BootstrapKeeper(libp2p, {
      addresses: [...DEFAULT_BOOTSTRAP_PEERS, ...config.bootstrap],
      backoff,
      dialTimeoutMs
    })
    parts.bootstrap = bootstrap
    bootstrap.start()
    const reachability = new ReachabilityMonitor(libp2p, libp2p.services.meshInternals, {
      dhtMode: config.discovery.dht.mode,
      relayClient: config.relay.client,
      relayListening: libp2p.services.meshInternals.getListenAddrs().some((ma) => isCircuit(ma))
    })
    parts.reachability = reachability
    reachability.start()
    const upkeep = new ConnectionUpkeep(libp2p, {
      mesh,
      minConnections: config.connections.minConnections,
      isolate: config.mesh.isolate,
      knownPeers: known
    })
    parts.upkeep = upkeep
    upkeep.start()
    const meshName = new MeshNameJoin(libp2p, {
      mesh,
      enabled: config.discovery.meshName.enabled,
      lookupIntervalMs: config.discovery.meshName.lookupIntervalMs,
      targetPeers: config.discovery.meshName.targetPeers,
      dialTimeoutMs
    })
    parts.meshName = meshName
    await meshName.start()

    const mdns = new MdnsDialer(libp2p, {
      serviceTag: config.discovery.mdns.serviceTag,
      maxConnections: config.connections.maxConnections,
      dialTimeoutMs
    })
    parts.mdns = mdns
    mdns.start(libp2p.services.mdns as MdnsService | undefined)

    // Rejoin from the peer store: the last good peers, even without bootstrap peers.
    if (config.discovery.knownPeers.enabled && config.discovery.knownPeers.redial > 0) {
      this.#startup = known
        .redial({ signal: this.#stopController.signal })
        .then(() => undefined)
        .catch((err: unknown) => log('re-dialling known peers failed: %s', errorMessage(err)))
    }
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    const running = this.#parts
    running.members?.stop()
    running.mdns?.stop()
    this.#stopController?.abort()
    running.bootstrap?.stop()
    running.directUpgrade?.stop()
    await running.meshName?.stop()
    await running.upkeep?.stop()
    await running.reachability?.stop()
    await this.#startup
    await running.known?.stop()
    await this.#libp2p.unhandle(memberProtocol(this.#mesh)).catch(() => {})
  }

  status(): DiscoveryStatus | DiscoveryNotRunning {
    const running = this.#running()
    if (running == null) return { mesh: this.#mesh, running: false }
    const connections = this.#libp2p.getConnections()
    return buildStatus({
      config: this.#init.config,
      connections,
      relayReservations: this.#libp2p.services.relay?.reservations.size ?? 0,
      reachability: running.reachability.status(),
      directUpgrade: running.directUpgrade.status(),
      mdnsDiscovered: running.mdns.discovered,
      pnet: this.#pnet,
      members: running.members.count(connections),
      bootstrap: running.bootstrap.status(),
      knownPeers: running.known.status(),
      meshName: running.meshName.status(),
      upkeep: running.upkeep.status(),
      topics: this.topics()
    })
  }

  async health(): Promise<{ ok: boolean; detail: string }> {
    return healthOf(this.status())
  }

  tools(): Tool[] {
    return peerTools(this)
  }

  topics(): TopicStatus[] {
    return topicsStatus(this.#libp2p.services.pubsub, this.#mesh)
  }

  bootstrapStatus(): BootstrapPeerStatus[] {
    return this.#parts.bootstrap?.status() ?? []
  }

  async peerInfo(peer: string, options: PeerInfoOptions = {}): Promise<PeerDetails> {
    return peerInfo(this.#libp2p, this.#mesh, peer, options)
  }

  async connect(target: string, options: ConnectOptions = {}): Promise<ConnectResult> {
    return connectPeer(this.#libp2p, target, {
      ...options,
      defaultTimeoutMs: this.#init.config.connections.dialTimeoutMs
    })
  }

  async disconnect(peer: string, options: { signal?: AbortSignal } = {}): Promise<DisconnectResult> {
    return disconnectPeer(this.#libp2p, peer, options)
  }

  async discover(options: DiscoverOptions = {}): Promise<DiscoverReport> {
    const running = this.#running()
    if (running == null) throw new DiscoveryNotRunningError()
    return discoverNow({ libp2p: this.#libp2p, ...running }, options)
  }
}
