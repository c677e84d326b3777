import { hour, minute, second } from '../util/time.js'

/** A running task's lease: renewed by worker heartbeats, lost when they stop. */
export const DEFAULT_LEASE_MS = 10 * second
/** Workers heartbeat this often (a third of the lease, so two may be lost). */
export const HEARTBEAT_FRACTION = 3
/** Shortest heartbeat (worker side) and lease-sweep (owner side) intervals. */
export const HEARTBEAT_FLOOR_MS = 100
export const SWEEP_FLOOR_MS = 250

/** How often something tied to a lease of `leaseMs` ticks: a fraction of the lease, never below `floorMs`. */
export function heartbeatIntervalMs(leaseMs: number, floorMs: number): number {
  return Math.max(floorMs, Math.floor(leaseMs / HEARTBEAT_FRACTION))
}
/** Finished tasks (and their results) are kept this long; config `queue.resultTtlMs`. */
export const DEFAULT_RESULT_TTL_MS = 24 * hour
/** How many lease losses (dead or partitioned workers) a task survives beyond its retry policy. */
export const MAX_LEASE_LOSSES = 3
/** Rejected (busy worker) attempts kept in a task's history; older ones are dropped. */
export const MAX_REJECTED_IN_HISTORY = 10
/** Default concurrency of this node as a worker; config `queue.worker.maxConcurrency`. */
export const DEFAULT_WORKER_CONCURRENCY = 32
/** Workers keep results of tasks they ran this long, so a restarted owner can re-lease them. */
export const WORKER_RESULT_CACHE_MS = 10 * minute
/** Open tasks are re-announced on the task topic this often while nobody claims them. */
export const ANNOUNCE_INTERVAL_MS = 2 * second
/** Most open tasks listed in one announcement. */
export const MAX_ANNOUNCED_TASKS = 256
/** A peer that refused or failed a dispatch is not offered work for this long. */
export const REFUSAL_COOLDOWN_MS = second
/** The queue state (paused, seq) is saved every this many submissions. */
export const STATE_SAVE_EVERY = 64
/** Timeouts of the worker's claim and the owner's abort requests. */
export const CLAIM_TIMEOUT_MS = 5 * second
export const ABORT_TIMEOUT_MS = 5 * second
/** A worker reports a claimed task's result this many times, backing off from REPORT_BACKOFF_MS, doubling. */
export const COMPLETE_TIMEOUT_MS = 10 * second
export const REPORT_ATTEMPTS = 5
export const REPORT_BACKOFF_MS = 250
export const JOURNAL_PREFIX = '/mcp-mesh/tasks'
export const QUEUE_STATE_KEY = '/mcp-mesh/queue/state'
export const MAX_PAGE_SIZE = 500
export const DEFAULT_PAGE_SIZE = 50
/** Throughput is reported over this window. */
export const THROUGHPUT_WINDOW_MS = minute
/** Extra time over a task's timeout before the owner gives up on the worker's answer. */
export const TIMEOUT_GRACE_MS = 2 * second

/** Peer-only JSON-RPC methods of the queue protocol, on `/mcp+p2p`. */
export const METHOD_CLAIM = 'mcp-mesh/task/claim'
export const METHOD_HEARTBEAT = 'mcp-mesh/task/heartbeat'
export const METHOD_COMPLETE = 'mcp-mesh/task/complete'
export const METHOD_ABORT = 'mcp-mesh/task/abort'
export const METHOD_ATTACH = 'mcp-mesh/task/attach'
