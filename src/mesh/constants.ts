import { minute, second } from '../util/time.js'

/** The MCP++ libp2p binding. */
export const MCP_P2P_PROTOCOL = '/mcp+p2p/1.0.0'

/** Largest frame accepted or sent (MCP++ default). Larger frames close the stream. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024
/** Bytes of the u32 big-endian length prefix. */
export const FRAME_HEADER_BYTES = 4

/** Inbound requests from one peer running at once; more wait in a bounded queue. */
export const DEFAULT_MAX_INBOUND_CONCURRENCY_PER_PEER = 64
/** Waiting inbound requests per peer beyond which requests are refused as busy. */
export const DEFAULT_MAX_INBOUND_QUEUE_PER_PEER = 1024
/** Sustained inbound requests per second per peer. */
export const DEFAULT_MAX_REQUESTS_PER_SECOND_PER_PEER = 20_000
/** Upper bound for one inbound request, whatever the tool's own timeout says. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10 * minute
/** A pooled stream with no traffic for this long is closed (and re-opened on demand). */
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * minute
/** Time allowed to open a stream and finish the MCP initialize handshake. */
export const CONNECT_TIMEOUT_MS = 10 * second

/** Streams per connection: one pooled stream per direction is the norm; a few spare for reconnects. */
export const MAX_INBOUND_STREAMS = 8
export const MAX_OUTBOUND_STREAMS = 8

/**
 * A frame must be complete this long after its first byte arrived, or the
 * stream is aborted (a peer trickling a frame holds a stream slot and memory).
 */
export const DEFAULT_FRAME_TIMEOUT_MS = 10 * second
/** Bytes of partial (not yet complete) frames buffered for one peer, over all its streams. */
export const DEFAULT_MAX_PARTIAL_FRAME_BYTES_PER_PEER = 32 * 1024 * 1024
/** Bytes of partial frames buffered over all peers. */
export const DEFAULT_MAX_PARTIAL_FRAME_BYTES = 256 * 1024 * 1024
/** Inbound `/mcp+p2p` streams over all connections (libp2p's limit is per connection). */
export const DEFAULT_MAX_INBOUND_STREAMS_TOTAL = 512
/** Inbound calls accepted (running or waiting) over all peers; more are refused as busy. */
export const DEFAULT_MAX_INBOUND_CALLS_TOTAL = 256
/**
 * Bytes of the arguments and `_meta` of inbound calls a peer has accepted and
 * not yet answered (they are held until the answer): per peer, and over all
 * peers. Raised to the frame limit (per peer) and twice it (node-wide) when
 * that is larger, so one call of any allowed size is always accepted.
 */
export const DEFAULT_MAX_HELD_CALL_BYTES_PER_PEER = 32 * 1024 * 1024
export const DEFAULT_MAX_HELD_CALL_BYTES = 128 * 1024 * 1024
/**
 * Per-peer entries at zero that a byte budget and the inbound limiter keep
 * rather than delete (a peer's next frame or call reuses its entry: no Map
 * delete and re-insert per call); past this many, all idle entries go.
 */
export const MAX_IDLE_PEER_ENTRIES = 64

export { ERROR_CODE_BUSY, ERROR_CODE_DENIED, ERROR_CODE_RATE_LIMITED } from '../interface/error-codes.js'

/** A disconnected peer stays in the catalog this long, so a re-dialled connection does not flap the tool list. */
export const DISCONNECT_GRACE_MS = 2 * second
/**
 * Descriptors kept by (tool name, schema hash), so a tool already described
 * by one peer is listed for the next without a tools/list round trip.
 */
export const MAX_CACHED_DESCRIPTORS = 4096
/** A failed tools/list fetch is retried after this delay, doubling, this many times (then the next advert retries). */
export const DESCRIPTOR_RETRY_INITIAL_MS = 250
export const DESCRIPTOR_RETRY_ATTEMPTS = 4
/** Registry changes come in bursts at start (each subsystem registers its tools): re-provide once they settle. */
export const PROVIDE_DEBOUNCE_MS = 1_000
/** A connected member with no advert yet is listed directly after this delay, bounded by the timeout. */
export const DIRECT_LISTING_DELAY_MS = 500
export const DIRECT_LISTING_TIMEOUT_MS = 10_000
/** Largest catalog advert accepted from gossip. */
export const MAX_ADVERT_BYTES = 256 * 1024
/**
 * Largest gossipsub RPC read from a peer (gossipsub's `maxInboundDataLength`).
 * An RPC batches messages of every topic; adverts are at most MAX_ADVERT_BYTES.
 */
export const GOSSIP_MAX_INBOUND_RPC_BYTES = 1024 * 1024
/** An advert is fresh for this long past 2 advert intervals (then it is a replay or stale). */
export const ADVERT_MAX_AGE_SLACK_MS = 30 * second
/** An advert dated further ahead than this (the signer's clock, or a forgery for long replay) is refused. */
export const ADVERT_MAX_CLOCK_SKEW_MS = 30 * second
/** Peers listed in the catalog at most; adverts of further peers are refused (and counted). */
export const MAX_CATALOG_PEERS = 10_000
/** Tools listed for one peer at most (the advert schema caps an advert at this too). */
export const MAX_CATALOG_TOOLS_PER_PEER = 1024
/** Bytes of fetched descriptors (JSON) kept over all catalog peers. */
export const MAX_CATALOG_DESCRIPTOR_BYTES = 64 * 1024 * 1024
/** How long a DHT lookup on a catalog miss may take before the call fails. */
export const DHT_LOOKUP_TIMEOUT_MS = 5 * second
/** Re-announce DHT provider records this often. */
export const DHT_REPROVIDE_INTERVAL_MS = 10 * minute
/** Latency probes (libp2p ping) of catalog peers. */
export const LATENCY_PROBE_INTERVAL_MS = 10 * second

/**
 * Dials to peers known only from a gossiped record (their addresses are the
 * signer's claims): at most this many at once, refilled one per interval
 * (8 a minute), node-wide. See FirstContactBudget.
 */
export const FIRST_CONTACT_BURST = 8
export const FIRST_CONTACT_REFILL_MS = 7_500
