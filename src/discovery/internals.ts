import type { Connection, ConnectionGater, MultiaddrConnection, PeerInfo } from '@libp2p/interface'
import { isLoopback } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'

import type { NodeAddressView, NodeInternals } from '../interface/libp2p.js'

export type { NodeAddressView, NodeInternals }

interface InternalComponents {
  addressManager: {
    getAddressesWithMetadata(): NodeAddressView[]
    getListenAddrs(): Multiaddr[]
    getAnnounceAddrs(): Multiaddr[]
    getObservedAddrs(): Multiaddr[]
  }
  transportManager: { listen(addrs: Multiaddr[]): Promise<void> }
  randomWalk: { walk(options?: { signal?: AbortSignal }): AsyncGenerator<PeerInfo> }
  connectionManager: { getConnections(): Connection[] }
}

export interface NodeInternalsHandle {
  /** Register as `services.meshInternals`. */
  service: (components: InternalComponents) => NodeInternals
  /** Open connections, once libp2p has created its components (for the connection gater). */
  connections: () => readonly Connection[] | undefined
}

/**
 * A libp2p "service" that only keeps the components it is given, plus a
 * late-bound view of the connection list for the connection gater (which
 * libp2p needs before the components exist). Components are read lazily.
 */
export function nodeInternals(): NodeInternalsHandle {
  let captured: InternalComponents | undefined
  return {
    connections: () => captured?.connectionManager.getConnections(),
    service: (components) => {
      captured = components
      return {
        getAddressesWithMetadata: () => components.addressManager.getAddressesWithMetadata(),
        getListenAddrs: () => components.addressManager.getListenAddrs(),
        getAnnounceAddrs: () => components.addressManager.getAnnounceAddrs(),
        getObservedAddrs: () => components.addressManager.getObservedAddrs(),
        listen: async (addrs) => components.transportManager.listen(addrs),
        randomWalk: (signal) => components.randomWalk.walk({ signal })
      }
    }
  }
}

/** The host part of an IP multiaddr (`/ip4/1.2.3.4/tcp/5` → `1.2.3.4`), if it has one. */
export function ipOf(ma: Multiaddr): string | undefined {
  const first = ma.getComponents()[0]
  if (first == null) return undefined
  return first.name === 'ip4' || first.name === 'ip6' ? first.value : undefined
}

/**
 * A connection gater that refuses an inbound connection when its source IP
 * already has `maxPerIp` open connections. Loopback is exempt: those are this
 * machine's own processes (several nodes per host, tests, benches); the limit
 * is a defence against one remote host filling the connection table.
 * libp2p's `inboundConnectionThreshold` limits the *rate* per IP; this limits
 * the *count*.
 */
export function perIpConnectionGater(
  maxPerIp: number,
  connections: () => readonly Connection[] | undefined
): ConnectionGater {
  return {
    denyInboundConnection: (maConn: MultiaddrConnection): boolean => {
      if (isLoopback(maConn.remoteAddr)) return false
      const ip = ipOf(maConn.remoteAddr)
      if (ip == null) return false
      let count = 0
      for (const connection of connections() ?? []) {
        if (connection.limits == null && ipOf(connection.remoteAddr) === ip) count++
      }
      return count >= maxPerIp
    }
  }
}
