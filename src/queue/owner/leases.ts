import { randomUUID } from 'node:crypto'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { resultText } from '../../mcp/result.js'
import { retryDelayMs } from '../../tools/meta.js'
import { KeyedCounter } from '../../util/counter.js'
import { meshLogger } from '../../util/logger.js'
import {
  MAX_COOLDOWNS,
  MAX_HAND_BACKS,
  MAX_LEASE_LOSSES,
  MAX_REJECTED_IN_HISTORY,
  REFUSAL_BACKOFF_MAX_MS,
  REFUSAL_COOLDOWN_MS,
  TIMEOUT_GRACE_MS
} from '../constants.js'
import type { TaskState } from '../types.js'
import type { QueueMetrics } from './stats.js'
import { closeAttempt, type TaskStore } from './task-store.js'
import { type Dispatch, LOCAL, type Lease, type StoredLease, type StoredTask } from './types.js'
import { ChurnMap } from '../../util/churn-map.js'

const log = meshLogger('queue')

export interface LeaseBookInit {
  store: TaskStore
  /** Puts a requeued task back in line. */
  enqueue(task: StoredTask): void
  metrics: QueueMetrics
  leaseMs: number
  /** This node's peer ID (what a local attempt records as its worker). */
  self: string
  /**
   * Called when a peer's cooldown or push back-off ends: queued tasks may go
   * to it again, and nothing else would run the pump (every waiting submitter
   * may be blocked on a result, with no new submission or freed slot coming).
   */
  wake?: () => void
}

/**
 * The lease state machine of running tasks. An attempt starts with a lease
 * (a token and an expiry); it ends in exactly one of: settled (the worker's
 * answer with the current token), not executed (the worker certainly did not
 * run it: requeued, the attempt not counted), lost (the worker died or went
 * silent: requeued with the attempt counted), timed out (its deadline, the
 * task's timeout plus TIMEOUT_GRACE_MS, passed: heartbeats do not extend it),
 * or cancelled. Answers carrying any other token are stale and ignored.
 * A pull task handed back MAX_HAND_BACKS times counts as a lost lease.
 */
export class LeaseBook {
  readonly #init: LeaseBookInit
  readonly #leases = new ChurnMap<string, Lease>()
  /** Remote leases per worker (local ones are bounded by the local worker's slots). */
  readonly #outstanding = new KeyedCounter()
  /**
   * Peers that failed a dispatch, handed a task back or lost a lease
   * recently: offered no work (no push, no claim granted) until this time.
   */
  readonly #cooldown = new Map<string, number>()
  /**
   * Peers that refused a push as busy: a live worker whose slots are taken
   * (by other owners' tasks, or by claims it has in flight), not a fault. No
   * push until this time or until one of this owner's leases on it ends (the
   * slot that frees is one this owner can use); its claims stay welcome, as
   * it claims only once it has room.
   */
  readonly #pushBackoff = new Map<string, number>()
  /**
   * Refusals and failures of each peer since it last returned a result: each
   * pause or cooldown is twice the last (REFUSAL_COOLDOWN_MS up to
   * REFUSAL_BACKOFF_MAX_MS), so a peer that refuses every push as busy (or
   * keeps failing) is pushed to less and less often, not once a second for
   * as long as tasks are queued. Bounded like the pauses (oldest dropped).
   */
  readonly #strikes = new Map<string, number>()
  /** Fires at the earliest end of a cooldown or back-off (see LeaseBookInit.wake). */
  #wakeTimer?: NodeJS.Timeout
  #wakeAt = Number.POSITIVE_INFINITY

  constructor(init: LeaseBookInit) {
    this.#init = init
  }

  get size(): number {
    return this.#leases.size
  }

  get(taskId: string): Lease | undefined {
    return this.#leases.get(taskId)
  }

  /** The lease of `taskId` if `token` and `worker` match it. */
  held(taskId: string, token: string, worker: string): Lease | undefined {
    const lease = this.#leases.get(taskId)
    return lease != null && lease.token === token && lease.worker === worker ? lease : undefined
  }

  /** Extends a lease by leaseMs from now (a heartbeat arrived); false, and nothing renewed, past its deadline. */
  renew(lease: Lease): boolean {
    const now = Date.now()
    if (now > lease.deadline) return false
    lease.expiresAt = now + this.#init.leaseMs
    return true
  }

  outstanding(peer: string): number {
    return this.#outstanding.get(peer)
  }

  /** Whether `peer` is offered no work at all (see #cooldown): claims it sends are refused too. */
  coolingDown(peer: string, now: number): boolean {
    return (this.#cooldown.get(peer) ?? 0) > now
  }

  /** Whether pushes to `peer` wait: it is cooling down, or refused a push as busy (see #pushBackoff). */
  pushPaused(peer: string, now: number): boolean {
    return this.coolingDown(peer, now) || (this.#pushBackoff.get(peer) ?? 0) > now
  }

  *spreadWorkers(spread: string): Iterable<string> {
    for (const [id, lease] of this.#leases) {
      if (this.#init.store.get(id)?.placement?.spread === spread) yield lease.worker
    }
  }

  /** Starts an attempt of a queued task (already out of line) on `worker` ('local' for this node). */
  start(task: StoredTask, worker: string, dispatch: Dispatch): Lease {
    const now = Date.now()
    const lease: Lease = {
      worker,
      token: randomUUID(),
      dispatch,
      controller: new AbortController(),
      expiresAt: now + this.#init.leaseMs,
      deadline: now + task.timeoutMs + TIMEOUT_GRACE_MS
    }
    task.state = 'running'
    task.attempts++
    task.startedAt = now
    task.updatedAt = now
    task.worker = worker === LOCAL ? this.#init.self : worker
    task.lease = { worker, token: lease.token, dispatch }
    task.history.push({ attempt: task.attempts, worker: task.worker, dispatch, startedAt: now })
    this.#leases.set(task.id, lease)
    if (worker !== LOCAL) this.#outstanding.increment(worker)
    this.#init.metrics.started(now - Math.max(task.createdAt, task.runAt))
    this.#init.store.journal.putLater(task)
    this.#init.store.changed(task)
    return lease
  }

  /** Takes over the journaled lease of a task that was running on a peer when this node stopped. */
  adopt(task: StoredTask, stored: StoredLease): Lease {
    const now = Date.now()
    const lease: Lease = {
      ...stored,
      controller: new AbortController(),
      expiresAt: now + this.#init.leaseMs,
      // The original deadline; a restarted owner still gives a worker one lease to hand over a finished result.
      deadline: Math.max((task.startedAt ?? now) + task.timeoutMs + TIMEOUT_GRACE_MS, now + this.#init.leaseMs)
    }
    this.#leases.set(task.id, lease)
    if (lease.worker !== LOCAL) this.#outstanding.increment(lease.worker)
    return lease
  }

  /**
   * The worker certainly did not run the attempt: undo it and requeue. A
   * pull task handed back MAX_HAND_BACKS times since its last counted attempt
   * is treated as a lost lease instead (the attempt counts), so a peer cannot
   * claim and hand back a task forever.
   */
  notExecuted(id: string, token: string, reason: string, peer?: string): void {
    const task = this.#init.store.get(id)
    const lease = task == null ? undefined : this.#take(id, token)
    if (task == null || lease == null) return
    if (peer != null) this.#coolDown(peer)
    this.#requeueNotExecuted(task, lease, reason)
  }

  /**
   * A push the worker refused as busy (nothing ran): requeued like
   * notExecuted, the attempt not counted, but the peer is not cooled down,
   * only paused for pushes (see #pushBackoff).
   */
  refusedBusy(id: string, token: string, reason: string, peer: string): void {
    const task = this.#init.store.get(id)
    const lease = task == null ? undefined : this.#take(id, token)
    if (task == null || lease == null) return
    this.#pause(this.#pushBackoff, peer)
    this.#requeueNotExecuted(task, lease, reason)
  }

  #requeueNotExecuted(task: StoredTask, lease: Lease, reason: string): void {
    const { store } = this.#init
    if (lease.dispatch === 'pull') {
      task.handBacks = (task.handBacks ?? 0) + 1
      if (task.handBacks >= MAX_HAND_BACKS) {
        task.handBacks = 0
        this.#requeueLost(task, lease, `handed back ${MAX_HAND_BACKS} times without running; last: ${reason}`)
        return
      }
    }
    // The attempt stays in the history as `rejected` (when and where it was
    // dispatched is worth seeing) but is not counted against maxAttempts.
    task.attempts--
    closeAttempt(task, 'rejected', reason)
    const rejected = task.history.filter((attempt) => attempt.outcome === 'rejected')
    if (rejected.length > MAX_REJECTED_IN_HISTORY) task.history.splice(task.history.indexOf(rejected[0]!), 1)
    task.state = 'queued'
    task.lease = undefined
    task.reason = reason
    task.updatedAt = Date.now()
    store.journal.putLater(task)
    this.#init.enqueue(task)
    store.changed(task)
  }

  /** A worker died or went silent mid-attempt: requeue, counting the attempt. */
  lost(id: string, token: string, reason: string): void {
    const task = this.#init.store.get(id)
    const lease = task == null ? undefined : this.#take(id, token)
    if (task == null || lease == null) return
    this.#requeueLost(task, lease, reason)
  }

  /** Ends an attempt (already taken out of the book) as a lost lease: requeued with the attempt counted, or dead. */
  #requeueLost(task: StoredTask, lease: Lease, reason: string): void {
    const { store } = this.#init
    lease.controller.abort(new Error(reason))
    if (lease.worker !== LOCAL) this.#coolDown(lease.worker)
    log('task %s lost its lease: %s', task.id, reason)
    closeAttempt(task, 'lease-lost', reason)
    task.leaseLosses = (task.leaseLosses ?? 0) + 1
    if (task.leaseLosses > MAX_LEASE_LOSSES && task.attempts >= task.retry.maxAttempts) {
      store.finish(task, 'dead', { error: `lease lost ${task.leaseLosses} times; last: ${reason}` })
    } else {
      task.state = 'queued'
      task.lease = undefined
      task.reason = reason
      task.updatedAt = Date.now()
      this.#init.enqueue(task)
      store.changed(task)
    }
    store.journal.putLater(task)
  }

  /** Records the outcome of the attempt holding `token`; anything else is a stale answer and ignored. */
  settle(id: string, token: string, outcome: { result?: CallToolResult; timeout?: boolean }): void {
    const { store } = this.#init
    const task = store.get(id)
    const lease = task == null ? undefined : this.#take(id, token)
    if (task == null || lease == null) return
    // The worker answered: its refusals and failures are forgotten.
    if (outcome.result != null && lease.worker !== LOCAL) this.#strikes.delete(lease.worker)
    const now = Date.now()
    this.#init.metrics.ran(now - (task.startedAt ?? now))
    const failed = outcome.timeout === true || outcome.result?.isError === true
    if (!failed) {
      closeAttempt(task, 'succeeded')
      store.finish(task, 'succeeded', { result: outcome.result })
      store.journal.putLater(task)
      return
    }
    const error = outcome.timeout === true ? `timed out after ${task.timeoutMs} ms` : resultText(outcome.result!)
    closeAttempt(task, outcome.timeout === true ? 'timeout' : 'failed', error)
    if (task.attempts < task.retry.maxAttempts && task.retry.policy !== 'none') {
      task.state = 'queued'
      task.lease = undefined
      task.error = error
      task.runAt = now + retryDelayMs(task.retry, task.attempts, task.retry.jitter)
      task.updatedAt = now
      task.reason = `retrying after attempt ${task.attempts} failed: ${error}`
      this.#init.enqueue(task)
      store.changed(task)
    } else {
      const final: TaskState = task.retry.maxAttempts > 1 ? 'dead' : 'failed'
      store.finish(task, final, { result: outcome.result, error })
    }
    store.journal.putLater(task)
  }

  /**
   * Cancels the running attempt of a task: finished now, so a late result
   * from the worker cannot be recorded. Returns the lease it held (the
   * caller tells a pull worker), or undefined when it held none.
   */
  cancel(task: StoredTask, reason: string): Lease | undefined {
    const lease = this.#leases.get(task.id)
    if (lease == null) return undefined
    this.#take(task.id, lease.token)
    closeAttempt(task, 'cancelled', reason)
    this.#init.store.finish(task, 'cancelled', { error: reason })
    lease.controller.abort(new Error(reason))
    return lease
  }

  /**
   * Ends local and pull attempts past their deadline as timeouts (the retry
   * policy applies; push attempts end by their call's maxTotalTimeout, at the
   * same deadline), expires pull leases whose heartbeats stopped, and forgets
   * past cooldowns. Returns the pull attempts it timed out: their workers are
   * told to abort (a local run and a push call are aborted through the lease).
   */
  sweep(now: number = Date.now()): Array<{ taskId: string; lease: Lease }> {
    const timedOut: Array<{ taskId: string; lease: Lease }> = []
    for (const [id, lease] of this.#leases) {
      if (lease.dispatch !== 'push' && lease.deadline < now) {
        this.timeout(id, lease.token)
        if (lease.dispatch === 'pull') timedOut.push({ taskId: id, lease })
      } else if (lease.dispatch === 'pull' && lease.expiresAt < now) {
        this.lost(id, lease.token, `no heartbeat from ${lease.worker}`)
      }
    }
    for (const [peer, until] of this.#cooldown) if (until < now) this.#cooldown.delete(peer)
    for (const [peer, until] of this.#pushBackoff) if (until < now) this.#pushBackoff.delete(peer)
    return timedOut
  }

  /** Ends the attempt holding `token` as timed out (retry policy applies) and aborts it through its lease. */
  timeout(id: string, token: string): void {
    const lease = this.#leases.get(id)
    if (lease == null || lease.token !== token) return
    log('task %s timed out on %s', id, lease.worker)
    this.settle(id, token, { timeout: true })
    lease.controller.abort(new Error('timed out'))
  }

  /**
   * Aborts every attempt in flight (the node stops); their tasks stay
   * journaled as running. Pauses, cooldowns and strikes go too: a queue
   * started again has no wake timer for them, so a worker paused before the
   * stop would get no work until something else ran the scheduler.
   */
  abortAll(reason: string): void {
    for (const lease of this.#leases.values()) lease.controller.abort(new Error(reason))
    this.#leases.clear()
    this.#cooldown.clear()
    this.#pushBackoff.clear()
    this.#strikes.clear()
    clearTimeout(this.#wakeTimer)
    this.#wakeTimer = undefined
    this.#wakeAt = Number.POSITIVE_INFINITY
  }

  /** Offers `peer` no work for its next pause. */
  #coolDown(peer: string): void {
    this.#pause(this.#cooldown, peer)
  }

  /**
   * Pauses `peer` in `pauses` (the cooldowns or the push back-offs) for
   * REFUSAL_COOLDOWN_MS, doubled for each earlier strike, at most
   * REFUSAL_BACKOFF_MAX_MS, and arms the wake for its end. Both maps and the
   * strikes are bounded (expired, then oldest entries dropped).
   */
  #pause(pauses: Map<string, number>, peer: string): void {
    const now = Date.now()
    const strikes = (this.#strikes.get(peer) ?? 0) + 1
    this.#strikes.delete(peer)
    this.#strikes.set(peer, strikes)
    if (this.#strikes.size > MAX_COOLDOWNS) this.#strikes.delete(this.#strikes.keys().next().value!)
    const until = now + Math.min(REFUSAL_COOLDOWN_MS * 2 ** Math.min(strikes - 1, 20), REFUSAL_BACKOFF_MAX_MS)
    pauses.delete(peer)
    pauses.set(peer, until)
    trimExpired(pauses, now)
    this.#armWake(until)
  }

  /** Runs `wake` once the earliest cooldown or back-off is over (one timer, re-armed for the next). */
  #armWake(until: number): void {
    if (this.#init.wake == null || until >= this.#wakeAt) return
    clearTimeout(this.#wakeTimer)
    this.#wakeAt = until
    // +1: a timer may fire a millisecond early against Date.now(); the pause must be over when the pump runs.
    this.#wakeTimer = setTimeout(this.#onWake, Math.max(0, until - Date.now()) + 1)
    this.#wakeTimer.unref()
  }

  readonly #onWake = (): void => {
    this.#wakeTimer = undefined
    this.#wakeAt = Number.POSITIVE_INFINITY
    const now = Date.now()
    let next = Number.POSITIVE_INFINITY
    for (const until of this.#cooldown.values()) if (until > now && until < next) next = until
    for (const until of this.#pushBackoff.values()) if (until > now && until < next) next = until
    if (Number.isFinite(next)) this.#armWake(next)
    this.#init.wake?.()
  }

  /** Removes the lease of `id` if it holds `token`, releasing its worker's slot. */
  #take(id: string, token: string): Lease | undefined {
    const lease = this.#leases.get(id)
    if (lease == null || lease.token !== token) return undefined
    this.#leases.delete(id)
    if (lease.worker !== LOCAL) {
      this.#outstanding.decrement(lease.worker)
      // The slot this attempt held on the peer is free: a push there may be taken again.
      this.#pushBackoff.delete(lease.worker)
    }
    return lease
  }
}

/** Keeps a map of peer → until within MAX_COOLDOWNS: expired entries go first, then the oldest. */
function trimExpired(map: Map<string, number>, now: number): void {
  if (map.size <= MAX_COOLDOWNS) return
  for (const [peer, until] of map) {
    if (map.size <= MAX_COOLDOWNS && until >= now) break
    map.delete(peer)
  }
}
