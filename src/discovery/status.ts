import type { Connection } from '@libp2p/interface'
import type { GossipSub } from '@libp2p/gossipsub'
import type { MeshConfig } from '../config/schema.js'
import { meshTopics } from '../mesh/topics.js'
import { isCircuit } from './address.js'
import type { BootstrapPeerStatus } from './bootstrap-keeper.js'
import type { ConnectionUpkeepStatus } from './connection-upkeep.js'
import type { DirectUpgradeStatus } from './direct-upgrade.js'
import type { KnownPeersStatus } from './known-peers.js'
import type { MeshNameStatus } from './mesh-name.js'
import type { ReachabilityStatus } from './reachability.js'

export interface TopicStatus {
  topic: string
  subscribed: boolean
  /** Peers known to be subscribed to the topic. */
  subscribers: number
  /** Peers in our gossipsub mesh for the topic. */
  meshPeers: number
}

/** Private network (pnet) state: the swarm key file and its fingerprint. */
export interface PnetStatus {
  enabled: boolean
  keyFile?: string
  fingerprint?: string
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
  pnet: PnetStatus
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

/** `status()` before discovery has started. */
export interface DiscoveryNotRunning {
  mesh: string
  running: false
}

/** What the status report is built from: the config and each part's own status. */
export interface StatusParts {
  config: MeshConfig
  connections: Connection[]
  relayReservations: number
  reachability: ReachabilityStatus
  directUpgrade?: DirectUpgradeStatus
  mdnsDiscovered: number
  pnet: PnetStatus
  members: number
  bootstrap: BootstrapPeerStatus[]
  knownPeers: KnownPeersStatus
  meshName: MeshNameStatus
  upkeep: ConnectionUpkeepStatus
  topics: TopicStatus[]
}

export function buildStatus(parts: StatusParts): DiscoveryStatus {
  const { config, connections, reachability: reach } = parts
  const relayed = connections.filter((c) => !c.direct || isCircuit(c.remoteAddr)).length
  const peers = new Set(connections.map((c) => c.remotePeer.toString()))
  return {
    mesh: config.mesh.name,
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
      server: { enabled: config.relay.server, reservations: parts.relayReservations },
      client: reach.relayClient
    },
    dcutr: config.nat.dcutr,
    directUpgrade: parts.directUpgrade ?? { enabled: false, attempted: 0, upgraded: 0, failed: 0 },
    upnp: config.nat.upnp,
    mdns: {
      enabled: config.discovery.mdns.enabled,
      serviceTag: config.discovery.mdns.serviceTag,
      discovered: parts.mdnsDiscovered
    },
    pnet: { ...parts.pnet },
    connections: {
      peers: peers.size,
      total: connections.length,
      direct: connections.length - relayed,
      relayed,
      inbound: connections.filter((c) => c.direction === 'inbound').length,
      outbound: connections.filter((c) => c.direction === 'outbound').length,
      members: parts.members
    },
    bootstrap: parts.bootstrap,
    knownPeers: parts.knownPeers,
    meshName: parts.meshName,
    upkeep: parts.upkeep,
    topics: parts.topics
  }
}

/** `mesh_health`'s discovery line: failing when isolated although bootstrap peers are configured. */
export function healthOf(status: DiscoveryStatus | DiscoveryNotRunning): { ok: boolean; detail: string } {
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

/** Subscription and gossipsub-mesh state of each of the mesh's topics. */
export function topicsStatus(pubsub: GossipSub, mesh: string): TopicStatus[] {
  const subscribed = new Set(pubsub.getTopics())
  const meshPeers = (pubsub as unknown as { getMeshPeers?: (topic: string) => string[] }).getMeshPeers
  return meshTopics(mesh).map((topic) => ({
    topic,
    subscribed: subscribed.has(topic),
    subscribers: pubsub.getSubscribers(topic).length,
    meshPeers: meshPeers?.call(pubsub, topic).length ?? 0
  }))
}
