/**
 * Embedded defaults. A fresh node listens on every interface on a random TCP
 * port and a random WebSocket port, so several nodes can share one machine.
 */
export const DEFAULT_LISTEN: readonly string[] = ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws']
export const DEFAULT_MESH_NAME = 'default'
export const DEFAULT_MDNS_SERVICE_TAG = '_mcp-mesh._udp.local'
export const CONFIG_FILE = 'config.json'
export const DATASTORE_DIR = 'datastore'
export const API_SOCKET = 'api.sock'
export const LOCK_FILE = 'repo.lock'

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
