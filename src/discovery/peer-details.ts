import type { Connection, PeerId, PeerStore } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import { peerIdFromString } from '@libp2p/peer-id'
import { errorMessage } from '../util/errors.js'
import { isCircuit, relayPeerOf } from './address.js'
import { META_LAST_SEEN } from './constants.js'
import { type MembershipInfo, membershipOf } from './membership.js'

/** One connection to a peer, as `peer_info` and the mesh's `peer_list` show it. */
export interface ConnectionDescription {
  id: string
  direction: 'inbound' | 'outbound'
  remoteAddr: string
  /** Through a circuit-relay-v2 relay (DCUtR may later replace it by a direct one). */
  relayed: boolean
  /** The relay's PeerId for a relayed connection. */
  relay?: string
  /** The relay imposes a duration or data limit; streams then need `runOnLimitedConnection`. */
  limited: boolean
  status: string
  multiplexer?: string
  encryption?: string
  openedAt: number
  ageMs: number
  /** Round trip measured by libp2p (identify/ping), when known. */
  rttMs?: number
  streams: Array<{ protocol?: string; direction: 'inbound' | 'outbound' }>
}

function toPeerId(peer: PeerId | string): PeerId {
  return typeof peer === 'string' ? peerIdFromString(peer) : peer
}

export function describeConnection(connection: Connection, now = Date.now()): ConnectionDescription {
  const relayed = !connection.direct || isCircuit(connection.remoteAddr)
  const description: ConnectionDescription = {
    id: connection.id,
    direction: connection.direction,
    remoteAddr: connection.remoteAddr.toString(),
    relayed,
    limited: connection.limits != null,
    status: connection.status,
    openedAt: connection.timeline.open,
    ageMs: now - connection.timeline.open,
    streams: connection.streams.map((stream) => ({ protocol: stream.protocol, direction: stream.direction }))
  }
  const relay = relayed ? relayPeerOf(connection.remoteAddr) : undefined
  if (relay != null) description.relay = relay
  if (connection.multiplexer != null) description.multiplexer = connection.multiplexer
  if (connection.encryption != null) description.encryption = connection.encryption
  if (connection.rtt != null) description.rttMs = connection.rtt
  return description
}

/**
 * Every open connection to `peer`: direction, address, relayed or direct.
 * This is what the mesh layer's `peer_list` merges into its per-peer entries.
 *
 * @example
 * const connections = describeConnections(node.libp2p, peerId)
 * const relayedOnly = connections.length > 0 && connections.every((c) => c.relayed)
 */
export function describeConnections(
  libp2p: { getConnections(peerId?: PeerId): Connection[] },
  peer: PeerId | string
): ConnectionDescription[] {
  const now = Date.now()
  return libp2p.getConnections(toPeerId(peer)).map((connection) => describeConnection(connection, now))
}

export interface PeerDetails extends MembershipInfo {
  peerId: string
  connected: boolean
  connections: ConnectionDescription[]
  /** Addresses in the peer store; `certified` ones came from the peer's signed record. */
  addresses: Array<{ multiaddr: string; certified: boolean }>
  protocols: string[]
  agentVersion?: string
  protocolVersion?: string
  tags: Record<string, number>
  /** Last time this node had a connection to the peer as a mesh member (ms since epoch). */
  lastSeen?: number
  /** Measured now with libp2p ping, when connected and asked for. */
  latencyMs?: number
  pingError?: string
}

export interface PeerDetailsLibp2p {
  peerStore: PeerStore
  getConnections(peerId?: PeerId): Connection[]
  services: { ping: Ping }
}

export function decodeTime(bytes: Uint8Array | undefined): number | undefined {
  if (bytes == null || bytes.byteLength !== 8) return undefined
  return Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0))
}

export function encodeTime(ms: number): Uint8Array {
  const bytes = new Uint8Array(8)
  new DataView(bytes.buffer).setBigUint64(0, BigInt(Math.max(0, Math.floor(ms))))
  return bytes
}

/**
 * Everything this node knows about a peer. Returns undefined when the peer is
 * neither connected nor in the peer store.
 */
export async function describePeer(
  libp2p: PeerDetailsLibp2p,
  peer: PeerId | string,
  options: { mesh: string; ping?: boolean; pingTimeoutMs?: number; signal?: AbortSignal }
): Promise<PeerDetails | undefined> {
  const peerId = toPeerId(peer)
  const connections = describeConnections(libp2p, peerId)
  const known = await libp2p.peerStore.has(peerId, { signal: options.signal })
  if (!known && connections.length === 0) return undefined
  const details: PeerDetails = {
    peerId: peerId.toString(),
    connected: connections.length > 0,
    connections,
    addresses: [],
    protocols: [],
    tags: {},
    membership: 'unknown'
  }
  if (known) {
    const record = await libp2p.peerStore.get(peerId, { signal: options.signal })
    details.addresses = record.addresses.map((a) => ({ multiaddr: a.multiaddr.toString(), certified: a.isCertified }))
    details.protocols = [...record.protocols].sort()
    const decoder = new TextDecoder()
    const agent = record.metadata.get('AgentVersion')
    if (agent != null) details.agentVersion = decoder.decode(agent)
    const protocolVersion = record.metadata.get('ProtocolVersion')
    if (protocolVersion != null) details.protocolVersion = decoder.decode(protocolVersion)
    for (const [name, tag] of record.tags) details.tags[name] = tag.value
    const lastSeen = decodeTime(record.metadata.get(META_LAST_SEEN))
    if (lastSeen != null) details.lastSeen = lastSeen
    Object.assign(details, membershipOf(record.protocols, options.mesh))
  }
  if (options.ping === true && details.connected) {
    const signal = AbortSignal.any([
      AbortSignal.timeout(options.pingTimeoutMs ?? 5_000),
      ...(options.signal ? [options.signal] : [])
    ])
    try {
      details.latencyMs = await libp2p.services.ping.ping(peerId, { signal })
    } catch (err) {
      details.pingError = errorMessage(err)
    }
  }
  return details
}
