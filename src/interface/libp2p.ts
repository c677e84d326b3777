/**
 * The libp2p host as every service sees it: the services the node configures
 * (src/node/libp2p-defaults.ts builds them) and the internal view discovery
 * reads. A leaf: it imports only libp2p packages.
 */
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { PeerInfo } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { UPnPNAT } from '@libp2p/upnp-nat'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * The parts of libp2p's internal components discovery needs and the public
 * `Libp2p` API does not expose: address metadata (what AutoNAT verified),
 * listening on `/p2p-circuit` at runtime, and random walks. Described
 * structurally so no internal package is imported.
 */
export interface NodeAddressView {
  multiaddr: Multiaddr
  verified: boolean
  lastVerified?: number
  expires: number
  type: 'transport' | 'announce' | 'observed' | 'dns-mapping' | 'ip-mapping'
}

export interface NodeInternals {
  getAddressesWithMetadata(): NodeAddressView[]
  getListenAddrs(): Multiaddr[]
  getAnnounceAddrs(): Multiaddr[]
  getObservedAddrs(): Multiaddr[]
  /** Starts listening on more addresses (e.g. `/p2p-circuit`) after start. */
  listen(addrs: Multiaddr[]): Promise<void>
  randomWalk(signal: AbortSignal): AsyncGenerator<PeerInfo>
}

export interface MeshServices extends Record<string, unknown> {
  identify: Identify
  identifyPush: IdentifyPush
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
  /** Internal components discovery reads (address metadata, runtime listen). */
  meshInternals: NodeInternals
  /** mDNS, a service (not only a peer discovery) so discovery can listen to and dial what it finds. */
  mdns?: unknown
  autoNAT?: unknown
  dcutr?: unknown
  /** Present with `relay.server` (`--relay`). */
  relay?: CircuitRelayService
  upnp?: UPnPNAT
}
