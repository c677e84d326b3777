/**
 * Joining and staying in a mesh: bootstrap with backoff, known peers from the
 * persistent peer store, mDNS, a Kademlia DHT whose mode follows
 * reachability, join by mesh name, AutoNAT, circuit relays, DCUtR, UPnP,
 * private meshes (pnet) and the peer tools. Design notes: docs/discovery.md.
 *
 * @example
 * // src/node/: create, start, then register the peer tools
 * const service = discovery({ config, home })({ libp2p })
 * await service.start()
 * registry.registerAll(service.tools())
 *
 * // the mesh's peer_list, wired by the node as a closure
 * const describe = (peer: PeerId) => describeConnections(libp2p, peer)
 * const member = await isMeshMember(libp2p.peerStore, peerId, config.mesh.name)
 *
 * @module
 */
import type { Libp2p } from '@libp2p/interface'
import type { MeshConfig } from '../config/schema.js'
import type { MeshServices } from '../interface/libp2p.js'
import type { NodeSubsystem } from '../interface/subsystem.js'
import type { Tool } from '../tools/types.js'
import type { TrustGate } from '../trust/index.js'
import type { BootstrapPeerStatus } from './bootstrap-keeper.js'
import type { DiscoverOptions, DiscoverReport } from './discover.js'
import { DiscoveryService } from './discovery.js'
import type { ConnectOptions, ConnectResult, DisconnectResult, PeerInfoOptions } from './peer-actions.js'
import type { PeerDetails } from './peer-details.js'
import type { DiscoveryNotRunning, DiscoveryStatus, TopicStatus } from './status.js'

export interface DiscoveryInit {
  /** Discovery reads `mesh`, `bootstrap`, `discovery`, `connections`, `nat`, `relay` and `addresses`. */
  config: MeshConfig
  /** The node's home directory (its `swarm.key` is reported in `status().pnet`). */
  home: string
}

export interface DiscoveryComponents {
  libp2p: Libp2p<MeshServices>
  /** The trust gate's admission (trust.allowPeers): the known-peers store keeps only peers it admits. */
  gate?: Pick<TrustGate, 'admits'>
}

/** The discovery service: lifecycle, reports, the peer tools and what they call. */
export interface Discovery extends NodeSubsystem {
  readonly name: 'discovery'
  /** Idempotent. */
  start(): Promise<void>
  /** Idempotent; also undoes a start that failed half-way. */
  stop(): Promise<void>
  status(): DiscoveryStatus | DiscoveryNotRunning
  health(): Promise<{ ok: boolean; detail: string }>
  /** `peer_info`, `peer_connect`, `peer_disconnect`, `peer_discover`, `bootstrap_status`. */
  tools(): Tool[]
  topics(): TopicStatus[]
  bootstrapStatus(): BootstrapPeerStatus[]
  peerInfo(peer: string, options?: PeerInfoOptions): Promise<PeerDetails>
  /** Dials a multiaddr, or a PeerId found through the peer store or the DHT. */
  connect(target: string, options?: ConnectOptions): Promise<ConnectResult>
  disconnect(peer: string, options?: { signal?: AbortSignal }): Promise<DisconnectResult>
  /** Runs the chosen discovery methods now (all by default) and reports what each found. */
  discover(options?: DiscoverOptions): Promise<DiscoverReport>
}

export function discovery(init: DiscoveryInit): (components: DiscoveryComponents) => Discovery {
  return (components) => new DiscoveryService(init, components)
}

export type { BootstrapPeerStatus } from './bootstrap-keeper.js'
export { markPeerInUse } from './connection-upkeep.js'
export {
  DISCOVERY_METHODS,
  type DiscoverOptions,
  type DiscoverReport,
  type DiscoveryMethod
} from './discover.js'
export * from './errors.js'
export { isMeshMember, type Membership, membershipOf, peerMembership } from './membership.js'
export { meshNameCid } from './mesh-name.js'
export type { ConnectOptions, ConnectResult, DisconnectResult, PeerInfoOptions } from './peer-actions.js'
export { type ConnectionDescription, describeConnections, describePeer, type PeerDetails } from './peer-details.js'
export { computeReachability, dhtModeFor, type Reachability } from './reachability.js'
export type { DiscoveryNotRunning, DiscoveryStatus, PnetStatus, TopicStatus } from './status.js'
export { generateSwarmKey, parseSwarmKey, readSwarmKey, swarmKeyPath, writeSwarmKey } from './swarm-key.js'
