import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { errorMessage, MeshError } from './errors.js'

/** A string is not a libp2p PeerId. */
export class InvalidPeerIdError extends MeshError {
  static override readonly code = 'ERR_INVALID_PEER_ID'
  constructor(
    readonly peer: string,
    reason: string
  ) {
    super(`invalid peer id "${peer}": not a valid peer ID (${reason})`)
  }
}

/** Parses a peer ID from user or peer input; throws InvalidPeerIdError with the reason. */
export function parsePeerId(peer: string): PeerId {
  try {
    return peerIdFromString(peer)
  } catch (err) {
    throw new InvalidPeerIdError(peer, errorMessage(err))
  }
}

/** Parses a peer ID, or undefined when `peer` is not one. */
export function tryParsePeerId(peer: string): PeerId | undefined {
  try {
    return peerIdFromString(peer)
  } catch {
    return undefined
  }
}
