/**
 * Joining and staying in a mesh: bootstrap with backoff, known peers from the
 * persistent peer store, mDNS, a Kademlia DHT whose mode follows
 * reachability, join by mesh name, AutoNAT, circuit relays, DCUtR, UPnP,
 * private meshes (pnet) and the peer tools. Design notes: docs/discovery.md.
 *
 * @example
 * // src/node/subsystems.ts
 * subsystems.push(createDiscovery(node))
 *
 * // the mesh layer's peer_list
 * const connections = describeConnections(node.libp2p, peerId)
 * const member = await isMeshMember(node.libp2p.peerStore, peerId, node.config.mesh.name)
 *
 * @module
 */
import { peerTools } from '../tools/peer/index.js'
import { Discovery, type DiscoveryHost } from './discovery.js'

export type { BootstrapPeerStatus } from './bootstrap-keeper.js'
export { markPeerInUse } from './connection-upkeep.js'
export type { ConnectResult, DiscoverReport, DiscoveryMethod, DiscoveryStatus, TopicStatus } from './discovery.js'
export { Discovery, DISCOVERY_METHODS } from './discovery.js'
export * from './errors.js'
export { isMeshMember, type Membership, membershipOf, peerMembership } from './membership.js'
export { meshNameCid } from './mesh-name.js'
export { type ConnectionDescription, describeConnections, describePeer, type PeerDetails } from './peer-details.js'
export { computeReachability, dhtModeFor, type Reachability } from './reachability.js'
export { generateSwarmKey, parseSwarmKey, readSwarmKey, swarmKeyPath, writeSwarmKey } from './swarm-key.js'

/** The discovery subsystem with its peer tools. */
export function createDiscovery(host: DiscoveryHost): Discovery {
  return new Discovery(host, peerTools)
}
