import { hour, minute, second } from '../util/time.js'

/** A running task's lease: renewed by worker heartbeats, lost when they stop. */
export const DEFAULT_LEASE_MS = 10 * second
/** Workers heartbeat this often (a third of the lease, so two may be lost). */
export const HEARTBEAT_FRACTION = 3
/** Shortest heartbeat (worker side) and lease-sweep (owner side) intervals. */
export const HEARTBEAT_FLOOR_MS = 100
export const SWEEP_FLOOR_MS = 250
/**
 * Longest lease and task timeout a peer's lease may carry (a pushed task's
 * `_meta`, a claim's grant): config `queue.leaseMs` and task timeouts stay
 * below them, and they keep every timer derived from them in Node's 32-bit
 * range (beyond it a timer fires every millisecond).
 */
export const MAX_PEER_LEASE_MS = 10 * minute
export const MAX_PEER_TASK_TIMEOUT_MS = 24 * hour

/** How often something tied to a lease of `leaseMs` ticks: a fraction of the lease, never below `floorMs`. */
export function heartbeatIntervalMs(leaseMs: number, floorMs: number): number {
  return Math.max(floorMs, Math.floor(leaseMs / HEARTBEAT_FRACTION))
}
/** Finished tasks (and their results) are kept this long; config `queue.resultTtlMs`. */
export const DEFAULT_RESULT_TTL_MS = 24 * hour
/**
 * Most finished tasks (and results) kept; config `queue.maxFinishedTasks`. The oldest finished beyond it are
 * deleted (memory and journal) before their TTL: every kept task costs ~1.5 KB of heap, so a day of retention
 * at a steady rate was unbounded (1,000 tasks/s for one hour: ~5 GB). 10,000 keeps ~15 MB, as BullMQ's
 * `removeOnComplete: { count }` keeps the newest jobs.
 */
export const DEFAULT_MAX_FINISHED_TASKS = 10_000
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
/**
 * A peer that refused or failed a dispatch is not offered work (or, refusing a
 * push as busy, not pushed to) for this long; each further refusal or failure
 * before it returns a result doubles it, up to REFUSAL_BACKOFF_MAX_MS.
 */
export const REFUSAL_COOLDOWN_MS = second
/** The longest pause or cooldown of a peer that keeps refusing or failing dispatches. */
export const REFUSAL_BACKOFF_MAX_MS = 30 * second
/** The queue state (paused, seq) is saved every this many submissions. */
export const STATE_SAVE_EVERY = 64
/**
 * Timeout of the worker's claim request: a claim is one round trip, so an
 * owner that does not answer within this is treated as refusing (and the
 * slot reserved for the claim is freed).
 */
export const CLAIM_TIMEOUT_MS = 2 * second
/** Timeout of the owner's abort request. */
export const ABORT_TIMEOUT_MS = 5 * second
/** A worker reports a claimed task's result this many times, backing off from REPORT_BACKOFF_MS, doubling. */
export const COMPLETE_TIMEOUT_MS = 10 * second
export const REPORT_ATTEMPTS = 5
export const REPORT_BACKOFF_MS = 250
/**
 * A restarted owner that cannot reach a push worker yet (its connections are
 * being re-made) asks again, backing off from REATTACH_BACKOFF_MS, doubling up
 * to REATTACH_BACKOFF_MAX_MS, until the lease's deadline.
 */
export const REATTACH_BACKOFF_MS = 250
export const REATTACH_BACKOFF_MAX_MS = 2 * second
/**
 * One attempt to reach that worker gives up after this long: a dial started
 * before any route to the worker exists (no address yet, the DHT still empty)
 * would otherwise wait out the whole connect timeout while the bootstrap dial
 * connects beside it.
 */
export const REATTACH_DIAL_MS = 2 * second
/** A task's base record (the whole task, written once): `<prefix>/<id>`. */
export const JOURNAL_PREFIX = '/mcp-mesh/tasks'
/** A task's update record (its changing fields, overlaid on the base on load): `<prefix>/<id>`. */
export const UPDATE_PREFIX = '/mcp-mesh/task-updates'
export const QUEUE_STATE_KEY = '/mcp-mesh/queue/state'
export const MAX_PAGE_SIZE = 500
export const DEFAULT_PAGE_SIZE = 50
/** Throughput is reported over this window. */
export const THROUGHPUT_WINDOW_MS = minute
/** Extra time over a task's timeout before the owner gives up on the worker's answer. */
export const TIMEOUT_GRACE_MS = 2 * second

/** Most unanswered requests (claims awaiting a reply, results awaiting an ack) a worker has open with one owner. */
export const MAX_CLAIMS_PER_OWNER = 8
/**
 * Attach requests of one owner for one task answered at once (each may wait
 * for the running task, with a heartbeat timer); more are refused as busy.
 * A restarted owner sends one per task; peer methods do not pass the peer
 * view's inbound limiter, so this is their bound (with the running tasks).
 */
export const MAX_ATTACHES_PER_TASK = 2
/** Share of the worker's slots kept for the node's own tasks (peers' pushed and claimed tasks use the rest). */
export const LOCAL_SLOT_SHARE = 0.25

/**
 * Worker slots kept back for the node's own tasks: a quarter of
 * `maxConcurrency`, rounded down, so a worker with fewer than 4 slots keeps
 * none back (a 1-slot worker would otherwise never serve a peer).
 */
export function localReserve(maxConcurrency: number): number {
  return Math.floor(maxConcurrency * LOCAL_SLOT_SHARE)
}

/** Worker slots peers' tasks (pushed or claimed) may use: the rest of `maxConcurrency`. */
export function peerSlots(maxConcurrency: number): number {
  return maxConcurrency - localReserve(maxConcurrency)
}

/** A pull task handed back (`notExecuted`) this many times counts as a lost lease: a peer cannot cycle it forever. */
export const MAX_HAND_BACKS = 5
/** Results a worker keeps for re-leases, node-wide and per owner (oldest dropped first). */
export const MAX_RECENT_RESULTS = 1024
export const MAX_RECENT_RESULTS_PER_OWNER = 256
/** Announced tasks a worker remembers having tried to claim (so it tries others first), and for how long. */
export const MAX_CLAIM_MEMORY = 4096
export const CLAIM_MEMORY_MS = minute
/** Peers an owner keeps in its refusal cooldown at once (oldest dropped first). */
export const MAX_COOLDOWNS = 1024
/** Parsed peer IDs the owner's dispatch keeps (a push parses its worker's ID; the cache is emptied when full). */
export const MAX_PARSED_PEERS = 256

/** Peer-only JSON-RPC methods of the queue protocol, on `/mcp+p2p`. */
export const METHOD_CLAIM = 'mcp-mesh/task/claim'
export const METHOD_HEARTBEAT = 'mcp-mesh/task/heartbeat'
export const METHOD_COMPLETE = 'mcp-mesh/task/complete'
export const METHOD_ABORT = 'mcp-mesh/task/abort'
export const METHOD_ATTACH = 'mcp-mesh/task/attach'
