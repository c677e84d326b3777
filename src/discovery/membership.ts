import type { PeerId, PeerStore } from '@libp2p/interface'
import { MEMBER_PROTOCOL_PATTERN, memberProtocol } from './constants.js'

/**
 * Which mesh a peer belongs to, from the protocols it announced in identify:
 * - `member`: it handles our mesh's member protocol;
 * - `foreign`: it is an mcp-mesh node of another mesh (shares the DHT, not the mesh);
 * - `other`: identified, but not an mcp-mesh node (e.g. a plain libp2p/DHT peer);
 * - `unknown`: not identified yet.
 */
export type Membership = 'member' | 'foreign' | 'other' | 'unknown'

export interface MembershipInfo {
  membership: Membership
  /** The peer's mesh name, when it is an mcp-mesh node. */
  mesh?: string
}

export function membershipOf(protocols: readonly string[], mesh: string): MembershipInfo {
  if (protocols.length === 0) return { membership: 'unknown' }
  if (protocols.includes(memberProtocol(mesh))) return { membership: 'member', mesh }
  for (const protocol of protocols) {
    const match = MEMBER_PROTOCOL_PATTERN.exec(protocol)
    if (match != null) return { membership: 'foreign', mesh: match[1] }
  }
  return { membership: 'other' }
}

/** Membership of a peer as recorded in the peer store (identify fills it in). */
export async function peerMembership(
  peerStore: PeerStore,
  peerId: PeerId,
  mesh: string,
  options: { signal?: AbortSignal } = {}
): Promise<MembershipInfo> {
  try {
    const peer = await peerStore.get(peerId, options)
    return membershipOf(peer.protocols, mesh)
  } catch {
    return { membership: 'unknown' }
  }
}

/**
 * True when `peerId` announced our mesh's member protocol. The mesh layer can
 * use this to refuse `/mcp+p2p` calls and catalog data from peers of other
 * meshes that share our DHT or LAN.
 */
export async function isMeshMember(
  peerStore: PeerStore,
  peerId: PeerId,
  mesh: string,
  options: { signal?: AbortSignal } = {}
): Promise<boolean> {
  return (await peerMembership(peerStore, peerId, mesh, options)).membership === 'member'
}
