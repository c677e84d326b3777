import { createHash } from 'node:crypto'

export interface Candidate {
  peerId: string
  /** Work the peer reported, plus calls this node has outstanding on it. */
  inFlight: number
  queued: number
  maxConcurrency: number
  latencyMs?: number
  tags: readonly string[]
}

export interface SelectionOptions {
  /** Key of the call or task; the same key and view give the same order on every node. */
  key: string
  requiredTags?: readonly string[]
  /** Peers already tried: placed last. */
  tried?: ReadonlySet<string>
}

/** Latency differences below this are noise on one LAN; treated as equal. */
const LATENCY_BUCKET_MS = 5
/** Utilisation is compared in quarters: 0-25 %, 25-50 %, ... */
const LOAD_BUCKETS = 4

/** Rendezvous (highest random weight) score of a peer for a key. */
export function rendezvousWeight(key: string, peerId: string): bigint {
  return createHash('sha256').update(key).update('\0').update(peerId).digest().readBigUInt64BE(0)
}

/**
 * Orders the peers that can run a call: those whose tags include the
 * required ones; then least loaded (bucketed); then lowest measured latency
 * (bucketed, unmeasured counts as one bucket); then rendezvous hashing on the
 * key, a tie-break every node computes the same way.
 */
export function rankCandidates(candidates: readonly Candidate[], options: SelectionOptions): Candidate[] {
  const required = options.requiredTags ?? []
  const eligible = candidates.filter((c) => required.every((tag) => c.tags.includes(tag)))
  // One provider (the common case): nothing to order, no hash per call.
  if (eligible.length <= 1) return eligible
  const scored = eligible.map((candidate) => ({
    candidate,
    tried: options.tried?.has(candidate.peerId) === true ? 1 : 0,
    load: Math.floor(((candidate.inFlight + candidate.queued) / Math.max(1, candidate.maxConcurrency)) * LOAD_BUCKETS),
    latency: candidate.latencyMs == null ? 1 : Math.floor(candidate.latencyMs / LATENCY_BUCKET_MS),
    weight: rendezvousWeight(options.key, candidate.peerId)
  }))
  scored.sort(
    (a, b) =>
      a.tried - b.tried ||
      a.load - b.load ||
      a.latency - b.latency ||
      (a.weight > b.weight ? -1 : a.weight < b.weight ? 1 : 0)
  )
  return scored.map((entry) => entry.candidate)
}
