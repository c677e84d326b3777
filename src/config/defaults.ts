/**
 * Fixed listen ports, written by `init`, so the bootstrap address a node
 * prints stays valid across restarts (as kubo's 4001). Not 4001 itself, so a
 * local IPFS node keeps its port; 4011/4012 are unassigned by IANA. When a
 * port is taken at start (a second node on the same machine), the node falls
 * back to a random one for that address and says so (docs/lifecycle.md).
 */
export const DEFAULT_TCP_PORT = 4011
export const DEFAULT_WS_PORT = 4012
export const DEFAULT_LISTEN: readonly string[] = [
  `/ip4/0.0.0.0/tcp/${DEFAULT_TCP_PORT}`,
  `/ip4/0.0.0.0/tcp/${DEFAULT_WS_PORT}/ws`
]
export const DEFAULT_MESH_NAME = 'default'
export const DEFAULT_MDNS_SERVICE_TAG = '_mcp-mesh._udp.local'
export const CONFIG_FILE = 'config.json'
export const DATASTORE_DIR = 'datastore'
export const API_SOCKET = 'api.sock'
export const LOCK_FILE = 'repo.lock'
/** The detached node's stdout and stderr (appended; rotated once at start above NODE_LOG_MAX_BYTES). */
export const NODE_LOG_FILE = 'node.log'
export const NODE_LOG_MAX_BYTES = 10 * 1024 * 1024
/** A detached node (started by `start`) exits this long after its last client left. */
export const DEFAULT_IDLE_EXIT_MS = 30_000

/**
 * Connections a node keeps at most (`connections.maxConnections`). Above it
 * libp2p's connection manager prunes the lowest-valued peers: untagged ones
 * first, then members (20), bootstrap peers (50) and peers whose tools are in
 * use (100). The catalog does not need a connection per member (records are
 * gossiped and synced), gossipsub keeps 6-12 mesh peers per topic and the
 * DHT about 20 per bucket, so 96 leaves room for all of them and for calls
 * while bounding an idle node's sockets, identify and ping traffic in a large
 * mesh (issue 11; libp2p's own default is 300, like ours was).
 */
export const DEFAULT_MAX_CONNECTIONS = 96

/**
 * Circuit relay v2 server (`--relay`). Reservations are bounded by count and
 * lifetime; a client refreshes its reservation before the TTL runs out.
 */
export const RELAY_MAX_RESERVATIONS = 128
export const RELAY_RESERVATION_TTL_MS = 60 * 60_000
/** A hop request (reserve or connect) must complete within this time. */
export const RELAY_HOP_TIMEOUT_MS = 30_000
/** Concurrent hop streams a single peer may open to the relay. */
export const RELAY_MAX_INBOUND_HOP_STREAMS = 32
/** Concurrent circuits the relay opens to the peers it serves (stop streams). */
export const RELAY_MAX_OUTBOUND_STOP_STREAMS = 300
/**
 * Per-circuit limits applied with `relay.limitCircuits` (or when either value
 * is configured): one relayed connection lasts at most this long and carries
 * at most this many bytes, then the relay closes it. A limited connection only
 * carries protocols registered with `runOnLimitedConnection`.
 */
export const RELAY_LIMIT_DURATION_MS = 2 * 60 * 60_000
export const RELAY_LIMIT_DATA_BYTES = 256 * 1024 * 1024
