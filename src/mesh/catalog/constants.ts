import { hour, minute, second } from '../../util/time.js'

/**
 * Defaults of the catalog's records and anti-entropy. The older limits
 * (advert bytes, caps, descriptor retries) stay in `src/mesh/constants.ts`.
 *
 * A node's signed record is published when its content changes (coalesced)
 * and refreshed rarely; its validity comes from its expiry, its replay
 * protection from its sequence number (IPFS provider records: republished
 * every 22 h, valid 48 h; ENR: a sequence number that changes only with the
 * record).
 */

/** A node re-signs its unchanged record this often (config `catalog.advertIntervalMs`). */
export const DEFAULT_RECORD_REFRESH_MS = hour
/** A record is valid this long after it is signed (config `catalog.peerTtlMs`): three refreshes. */
export const DEFAULT_RECORD_TTL_MS = 3 * hour
/** Expiries further out than this are refused: a signer cannot make a record live for ever. */
export const MAX_RECORD_TTL_MS = 48 * hour
/**
 * Above this many members the refresh interval and the TTL grow in
 * proportion to the mesh size, so the refresh traffic each node receives
 * (N records per refresh interval) stays flat (IPFS republishes every 22 h).
 */
export const RECORD_REFRESH_SCALE_PEERS = 1_000
/**
 * A record without an expiry (a legacy advert) is valid this long after it
 * was signed: two legacy 5 s intervals plus ADVERT_MAX_AGE_SLACK_MS.
 */
export const LEGACY_ADVERT_INTERVAL_MS = 5 * second
/** Bursts of content changes (registry events at start) coalesce into one record. */
export const RECORD_COALESCE_MS = 50
/**
 * The own record's content (worker state, capacity, addresses) is compared
 * with the last published one this often: a local check, nothing is sent
 * unless it changed.
 */
export const RECORD_CONTENT_CHECK_MS = second
/** Content-change records go out at most this often (a flapping worker cannot flood the mesh). */
export const RECORD_MIN_INTERVAL_MS = second
/** A leave record is given this long to leave the node before the catalog stops. */
export const LEAVE_FLUSH_MS = 250

/**
 * The refresh interval and TTL for a mesh of `meshSize` members: the
 * configured ones up to RECORD_REFRESH_SCALE_PEERS members, then growing
 * with the size, the TTL capped at MAX_RECORD_TTL_MS (the refresh at a third
 * of it, so two refreshes can be missed).
 */
export function recordTiming(refreshMs: number, ttlMs: number, meshSize: number): { refreshMs: number; ttlMs: number } {
  const factor = Math.max(1, meshSize / RECORD_REFRESH_SCALE_PEERS)
  const ttl = Math.min(MAX_RECORD_TTL_MS, Math.round(ttlMs * factor))
  return { refreshMs: Math.min(Math.round(refreshMs * factor), Math.max(refreshMs, Math.floor(ttl / 3))), ttlMs: ttl }
}

/**
 * Anti-entropy: every interval a node compares a digest of its records with
 * one random connected member, and both sides repair what differs. The
 * interval grows with log2 of the mesh size (memberlist's push-pull).
 */
export const ANTI_ENTROPY_BASE_MS = 30 * second
export const ANTI_ENTROPY_MAX_MS = 10 * minute
/** A newcomer syncs the whole catalog from this many members at join. */
export const JOIN_SYNC_PEERS = 2
/** Largest sync message (a digest of 10,000 peers is about 0.8 MB). */
export const SYNC_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
/** Records and descriptors sent in one sync answer stop at about this many bytes (the rest next round). */
export const SYNC_MAX_ANSWER_BYTES = 2 * 1024 * 1024
/** Exchanges in a row with one member while its answers are capped (a newcomer to a large mesh). */
export const SYNC_MAX_ROUNDS = 5
/** One sync exchange (dial, digest, records) must finish within this. */
export const SYNC_TIMEOUT_MS = 10 * second
/** Inbound sync streams per connection. */
export const SYNC_MAX_INBOUND_STREAMS = 2
/** Sync answers served per peer per minute at most (join plus a few rounds). */
export const SYNC_MAX_PER_PEER_PER_MINUTE = 6

/**
 * Failure detection: a peer whose connection dropped is re-dialled once
 * after the grace period; if that fails it is dropped from this node's
 * catalog. Peers this node was never connected to live until their record
 * expires (or their leave record arrives).
 */
export const REDIAL_TIMEOUT_MS = 5 * second
