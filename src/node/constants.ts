import { second } from '../util/time.js'

/** Our own DHT protocol: mcp-mesh nodes must not join (or pollute) the IPFS Amino DHT. */
export const DHT_PROTOCOL = '/mcp-mesh/kad/1.0.0'

/**
 * Concurrent ping streams per connection, each way. libp2p's defaults (1 out,
 * 2 in) are too tight: the connection monitor, `peer_info`/`doctor` and
 * remote peers' own probes overlap, and a refused ping stream counts as a
 * failed ping, for which the connection monitor aborts the whole connection.
 */
export const PING_MAX_OUTBOUND_STREAMS = 8
export const PING_MAX_INBOUND_STREAMS = 8

/**
 * libp2p's connection monitor pings every connection and aborts it when a
 * ping fails. Its defaults (every 10 s, adaptive timeout from 5 s) abort
 * healthy connections of a node that is merely busy: on a saturated 2-core
 * host a 25-node mesh lost most of its connections every minute, and every
 * reconnect (noise, identify, gossipsub, DHT, catalog) made the load worse.
 * Pings stay (they find silently dead connections and measure `rtt`, which
 * the mesh uses for latency) but are sparser and more patient.
 */
export const CONNECTION_PING_INTERVAL_MS = 15 * second
export const CONNECTION_PING_MIN_TIMEOUT_MS = 15 * second

export const SHUTDOWN_TIMEOUT_MS = 10 * second

/** libp2p's peer store lives under this datastore prefix (`@libp2p/peer-store`). */
export const PEER_STORE_PREFIX = '/peers/'
/**
 * The in-memory peer store's changes are written back to LevelDB this often
 * (and on stop): a crash loses at most this much of known peers' last-seen times.
 */
export const PEER_STORE_FLUSH_MS = 60 * second
/**
 * A peer the persisted peer store does not hold yet is written back this
 * soon: a crash right after meeting a peer must not lose its addresses (a
 * restarted node re-leases its tasks from the peers that ran them).
 */
export const PEER_STORE_NEW_PEER_FLUSH_MS = second
