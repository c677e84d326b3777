import { MeshError } from '../util/errors.js'

/** `<home>/swarm.key` exists but is not a kubo v1 pre-shared key. */
export class InvalidSwarmKeyError extends MeshError {
  static override readonly code = 'ERR_INVALID_SWARM_KEY'
  constructor(
    readonly path: string,
    reason: string
  ) {
    super(`${path} is not a valid swarm key (${reason}); generate one with \`mcp-mesh swarm-key gen\``)
  }
}

/** `swarm-key gen` refused to replace an existing key. */
export class SwarmKeyExistsError extends MeshError {
  static override readonly code = 'ERR_SWARM_KEY_EXISTS'
  constructor(readonly path: string) {
    super(`${path} already exists; pass --force to replace it (every node of the mesh then needs the new key)`)
  }
}

/** A string is not a multiaddr, or not a dialable one. */
export class InvalidPeerAddressError extends MeshError {
  static override readonly code = 'ERR_INVALID_PEER_ADDRESS'
  constructor(
    readonly address: string,
    reason: string
  ) {
    super(`invalid peer address "${address}": ${reason}`)
  }
}

/** The peer is neither connected nor in the peer store. */
export class UnknownPeerError extends MeshError {
  static override readonly code = 'ERR_UNKNOWN_PEER'
  constructor(readonly peer: string) {
    super(`unknown peer ${peer}: not connected and not in the peer store (connect with a multiaddr first)`)
  }
}

/** The peer is known but there is no connection to it. */
export class PeerNotConnectedError extends MeshError {
  static override readonly code = 'ERR_PEER_NOT_CONNECTED'
  constructor(readonly peer: string) {
    super(`not connected to ${peer}`)
  }
}

/** A dial failed: unreachable address, refused, timed out, wrong peer id or private-network key. */
export class PeerDialError extends MeshError {
  static override readonly code = 'ERR_PEER_DIAL'
  constructor(
    readonly target: string,
    reason: string,
    options?: ErrorOptions
  ) {
    super(`could not connect to ${target}: ${reason}`, options)
  }
}

/** A peer of another mesh was refused (`mesh.isolate`). */
export class ForeignMeshPeerError extends MeshError {
  static override readonly code = 'ERR_FOREIGN_MESH_PEER'
  constructor(
    readonly peer: string,
    readonly mesh: string
  ) {
    super(`peer ${peer} belongs to mesh "${mesh}", not ours`)
  }
}

/** The bootstrap list in the config file could not be changed. */
export class BootstrapListError extends MeshError {
  static override readonly code = 'ERR_BOOTSTRAP_LIST'
}

/** A discovery method was called before discovery started (or after a failed start). */
export class DiscoveryNotRunningError extends MeshError {
  static override readonly code = 'ERR_DISCOVERY_NOT_RUNNING'
  constructor() {
    super('discovery is not running')
  }
}
