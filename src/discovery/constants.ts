import { hour, minute, second } from '../util/time.js'

/**
 * Identify-visible mesh membership: every node handles this protocol for its
 * own mesh, so a peer's protocol list (exchanged by identify) says which mesh
 * it belongs to. Same namespace and version scheme as the gossipsub topics.
 */
export const MEMBER_PROTOCOL_PREFIX = '/mcp-mesh'
export const MEMBER_PROTOCOL_SUFFIX = '/member/1.0.0'

export function memberProtocol(mesh: string): string {
  return `${MEMBER_PROTOCOL_PREFIX}/${mesh}${MEMBER_PROTOCOL_SUFFIX}`
}

/** Matches any mesh's member protocol; group 1 is the mesh name. */
export const MEMBER_PROTOCOL_PATTERN = /^\/mcp-mesh\/([A-Za-z0-9._-]{1,64})\/member\/1\.0\.0$/

/** Text hashed (sha256) into the CID whose DHT providers are a mesh's members. */
export function meshNameKey(mesh: string): string {
  return `mcp-mesh:mesh:${mesh}`
}

/** The `/mcp+p2p` protocol: peers with an open stream on it have tools in use. */
export const MCP_P2P_PROTOCOL = '/mcp+p2p/1.0.0'

/** Peer store tags. Their values order pruning when `maxConnections` is reached (low first). */
export const TAG_KNOWN = 'mcp-mesh:known'
export const TAG_BOOTSTRAP = 'mcp-mesh:bootstrap'
export const TAG_MEMBER = 'mcp-mesh:member'
export const TAG_IN_USE = 'mcp-mesh:in-use'
export const TAG_VALUE_KNOWN = 1
export const TAG_VALUE_MEMBER = 20
export const TAG_VALUE_BOOTSTRAP = 50
export const TAG_VALUE_IN_USE = 100
/** An in-use tag outlives the last stream by this long. */
export const IN_USE_TTL_MS = 2 * minute
/**
 * Mesh members the known-peers store keeps (peer store tag TAG_KNOWN); a new
 * one evicts the least recently seen, so a flood of identities cannot grow it.
 */
export const MAX_KNOWN_PEERS = 256
/** Peer store metadata key: last time we had a connection to a mesh member (u64 ms, big endian). */
export const META_LAST_SEEN = 'mcp-mesh:last-seen'

/** Bootstrap reconnect backoff: first retry, cap, factor and jitter (±fraction). */
export const DEFAULT_BACKOFF_INITIAL_MS = 1 * second
export const DEFAULT_BACKOFF_MAX_MS = 1 * minute
export const BACKOFF_FACTOR = 2
export const BACKOFF_JITTER = 0.2

/** Known peers re-dialled on start, most recently seen first. */
export const DEFAULT_KNOWN_PEERS_REDIAL = 16
/** A known peer not seen for this long is forgotten. */
export const DEFAULT_KNOWN_PEERS_FORGET_MS = 30 * 24 * hour

/** Connection upkeep: in-use tagging, minimum connections, isolated recovery. */
export const MAINTENANCE_INTERVAL_MS = 10 * second
/**
 * peer_connect's ping attempts: one more each time the connection a ping
 * runs on closes under it (a relayed connection replaced by a direct one).
 */
export const CONNECT_PING_ATTEMPTS = 3
/** Reachability / DHT mode re-evaluation after address or connection changes. */
export const REACHABILITY_DEBOUNCE_MS = 250

/** Join by name: how often the mesh's DHT providers are looked up, and re-provided. */
export const DEFAULT_MESH_LOOKUP_INTERVAL_MS = 1 * minute
/**
 * A lookup that finds nothing new to dial doubles the interval up to this
 * (an idle mesh stops querying the DHT every minute from every node).
 */
export const MESH_LOOKUP_MAX_INTERVAL_MS = 16 * minute
export const MESH_REPROVIDE_INTERVAL_MS = 10 * minute
/** Bound on one provide or lookup of the mesh record. */
export const MESH_QUERY_TIMEOUT_MS = 30 * second
/** Upper bound on providers dialled per lookup. */
export const MESH_MAX_DIALS_PER_LOOKUP = 32

/** Parallel dials when re-dialling known peers or joining by name. */
export const DIAL_CONCURRENCY = 8

/** kubo's swarm key format: a header, an encoding line, 64 hex characters. */
export const SWARM_KEY_FILE = 'swarm.key'
export const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/'
export const SWARM_KEY_ENCODING = '/base16/'
export const SWARM_KEY_BYTES = 32

/**
 * kad-dht runs its first self-query this long after start (libp2p default
 * 1 s), and every other query waits for it. The query itself waits for a
 * first routing-table peer, so starting at once costs nothing and saves a
 * second when joining.
 */
export const DHT_INITIAL_QUERY_SELF_INTERVAL_MS = 0

/** `peer_discover`: bound on the whole run, and how long an mDNS query collects answers. */
export const DEFAULT_DISCOVER_TIMEOUT_MS = 5 * second
export const MDNS_QUERY_WINDOW_MS = 2 * second
/** mDNS peers are dialled only while connections stay below this fraction of `connections.maxConnections`. */
export const MDNS_DIAL_MAX_FILL = 0.8
/**
 * Direct upgrades of relayed connections in flight at once, and addresses
 * dialed per upgrade: a relayed peer's identify names the addresses, and
 * peer IDs are free, so without a bound a relay user could have this node
 * dial any number of hosts of its choice at once.
 */
export const MAX_DIRECT_UPGRADES = 4
export const MAX_DIRECT_UPGRADE_ADDRS = 16
