import { activeTraceMeta } from '../../tracing/context.js'
import { randomUUID } from 'node:crypto'
import type { CatalogPeer, CatalogTool } from '../../mesh/index.js'
import { DEFAULT_PRIORITY, DEFAULT_TIMEOUT_MS, type RetryPolicy, retryPolicySchema } from '../../tools/meta.js'
import type { ToolRegistry } from '../../tools/registry.js'
import { allEqual, canonicalHash } from '../../util/canonical-json.js'
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, STATE_SAVE_EVERY } from '../constants.js'
import {
  ConfirmationRequiredError,
  IdempotencyConflictError,
  InvalidTaskArgumentsError,
  NoWorkerError,
  TaskAlreadyFinishedError,
  TaskNotQueuedError,
  TaskNotRetryableError
} from '../errors.js'
import {
  FINAL_STATES,
  type Task,
  type TaskFilter,
  type TaskPage,
  type TaskRetry,
  type TaskState,
  type TaskSubmission
} from '../types.js'
import { argumentsProblem } from './args-check.js'
import type { LeaseBook } from './leases.js'
import type { Scheduler } from './scheduler.js'
import type { TaskStore } from './task-store.js'
import { type StoredTask, taskView } from './types.js'
import { TaskWaiters } from './waiters.js'

type AdvertOf = CatalogTool['advert']

/** The retry policy of a task whose tool sets none (a tool's meta always has one: this is for unknown tools). */
const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze(retryPolicySchema.parse({}))
/** Base retry policies (a tool's, an advert's, the default) already checked by `retryPolicySchema`. */
const checkedRetries = new WeakSet<object>()
/** A base retry policy with jitter, by base policy (tools', adverts' and the default one are long-lived objects). */
const jittered = new WeakMap<object, TaskRetry>()

function jitteredRetry(base: Readonly<RetryPolicy>): TaskRetry {
  let retry = jittered.get(base)
  if (retry == null) {
    retry = Object.freeze({ ...base, jitter: true })
    jittered.set(base, retry)
  }
  return retry
}

export interface QueueOwnerInit {
  store: TaskStore
  scheduler: Pick<Scheduler, 'enqueue' | 'dequeue' | 'schedule'>
  leases: Pick<LeaseBook, 'cancel'>
  /** Tells a pull worker its task was cancelled. */
  abortPull(worker: string, taskId: string, token: string): Promise<void>
  /** This node's tools (their metadata gives a task's defaults). */
  registry: Pick<ToolRegistry, 'get'>
  /** The catalog's peers (a remote tool's metadata, whether any peer offers a tool). */
  peers(): readonly CatalogPeer[]
  /** This node's peer ID: a task placed on it is checked against its own tool. */
  self: string
}

/**
 * The owner's public API: submissions (journaled before they are
 * acknowledged, deduplicated by idempotency key), look-ups, cancellation,
 * waiting, priority changes, manual retries, pausing and clearing.
 */
export class QueueOwner {
  readonly #init: QueueOwnerInit
  /** waitFor's callers by task id (a change wakes only the waiters of its task). */
  readonly #waiters = new TaskWaiters()

  constructor(init: QueueOwnerInit) {
    this.#init = init
  }

  async submit(submission: TaskSubmission): Promise<{ task: Task; created: boolean }> {
    const { store, registry } = this.#init
    const args = submission.args ?? {}
    const argsHash = submission.idempotencyKey != null ? canonicalHash(submission.tool, args) : undefined
    if (submission.idempotencyKey != null) {
      const existing = store.byIdempotencyKey(submission.idempotencyKey)
      if (existing != null) {
        if (existing.argsHash !== argsHash) throw new IdempotencyConflictError(submission.idempotencyKey, existing.id)
        return { task: taskView(existing), created: false }
      }
    }
    const tool = registry.get(submission.tool)
    // The catalog's peers, read once for this submit.
    const peers = this.#init.peers()
    const offered = tool != null || peers.some((peer) => peer.tools.has(submission.tool))
    if (!offered && submission.failIfNoWorker === true) throw new NoWorkerError(submission.tool)
    this.#checkArguments(submission.tool, args, peers, submission.placement?.peer)
    const now = Date.now()
    const remoteMeta = this.#remoteMeta(submission.tool, peers, submission.placement?.peer)
    const baseRetry = tool?.meta.retry ?? remoteMeta?.retry ?? DEFAULT_RETRY
    // Without an override, one retry object per base policy, shared by its tasks (the queue replaces a task's, never changes it).
    const retry: TaskRetry =
      submission.retry == null ? jitteredRetry(baseRetry) : { ...baseRetry, jitter: true, ...submission.retry }
    // The merged policy is checked when the submission overrides it; a tool's,
    // an advert's or the default policy once per object (they are long-lived).
    if (submission.retry != null || !checkedRetries.has(baseRetry)) {
      retryPolicySchema.parse({
        policy: retry.policy,
        maxAttempts: retry.maxAttempts,
        baseDelayMs: retry.baseDelayMs,
        retryOnToolError: retry.retryOnToolError
      })
      if (submission.retry == null) checkedRetries.add(baseRetry)
    }
    const runAt = submission.runAt ?? (submission.delayMs != null ? now + submission.delayMs : now)
    const task: StoredTask = {
      id: randomUUID(),
      tool: submission.tool,
      args,
      state: 'queued',
      priority: submission.priority ?? tool?.meta.priority ?? remoteMeta?.priority ?? DEFAULT_PRIORITY,
      seq: ++store.seq,
      tags: submission.tags ?? [],
      idempotencyKey: submission.idempotencyKey,
      argsHash,
      retry,
      timeoutMs: submission.timeoutMs ?? tool?.meta.timeoutMs ?? remoteMeta?.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      runAt,
      createdAt: now,
      updatedAt: now,
      attempts: 0,
      history: [],
      placement: submission.placement,
      failIfNoWorker: submission.failIfNoWorker === true,
      labels: submission.labels ?? {},
      reason: offered ? undefined : `no worker offers tool "${submission.tool}" yet`
    }
    // The submitter's trace (if any) goes with the task to whichever worker runs it.
    const trace = activeTraceMeta()
    if (Object.keys(trace).length > 0) task.trace = trace
    store.add(task)
    // The task as accepted (the scheduler may start it before the write below resolves).
    const accepted = taskView(task)
    // In line at once: when a worker is free, its lease joins this write (one
    // record, one batch). Nothing runs before the write is committed: a push
    // and a pull grant wait for the journal, a local run waits for it.
    this.#init.scheduler.enqueue(task)
    // Unchanged since the view was made (enqueue only schedules the pump): the event shares it.
    store.changed(task, accepted)
    const written = store.journal.put(task)
    if (store.seq % STATE_SAVE_EVERY === 0) void store.saveState()
    try {
      // Durable before acknowledged.
      await written
    } catch (err) {
      this.#forget(task)
      throw err
    }
    return { task: accepted, created: true }
  }

  /** Takes back a task whose journal write failed (it was never acknowledged). */
  #forget(task: StoredTask): void {
    const { store, scheduler, leases } = this.#init
    if (task.state === 'queued') scheduler.dequeue(task)
    else if (task.state === 'running') leases.cancel(task, 'the journal write of the task failed')
    store.drop(task)
  }

  get(id: string): Task | undefined {
    const task = this.#init.store.get(id)
    return task == null ? undefined : taskView(task)
  }

  require(id: string): Task {
    return taskView(this.#init.store.require(id))
  }

  list(filter: TaskFilter = {}, page: { cursor?: string; limit?: number } = {}): TaskPage {
    const states =
      filter.state == null ? undefined : new Set(Array.isArray(filter.state) ? filter.state : [filter.state])
    const matches = [...this.#init.store.tasks.values()].filter(
      (task) =>
        (states == null || states.has(task.state)) &&
        (filter.tool == null || task.tool === filter.tool) &&
        (filter.tag == null || task.tags.includes(filter.tag)) &&
        (filter.worker == null || task.worker === filter.worker) &&
        (filter.priority == null || task.priority === filter.priority) &&
        (filter.labels == null || Object.entries(filter.labels).every(([k, v]) => task.labels[k] === v))
    )
    matches.sort((a, b) => a.seq - b.seq)
    const limit = Math.min(MAX_PAGE_SIZE, page.limit ?? DEFAULT_PAGE_SIZE)
    const after = page.cursor != null ? Number.parseInt(page.cursor, 10) : 0
    const start = matches.findIndex((task) => task.seq > after)
    const slice = start < 0 ? [] : matches.slice(start, start + limit)
    const last = slice.at(-1)
    const more = start >= 0 && start + limit < matches.length
    return {
      tasks: slice.map((task) => taskView(task)),
      nextCursor: more && last != null ? String(last.seq) : undefined,
      total: matches.length
    }
  }

  async cancel(id: string, reason = 'cancelled'): Promise<Task> {
    const { store } = this.#init
    const task = store.require(id)
    if (FINAL_STATES.has(task.state)) throw new TaskAlreadyFinishedError(id, task.state)
    if (task.state === 'queued') {
      this.#init.scheduler.dequeue(task)
      store.finish(task, 'cancelled', { error: reason })
      await store.journal.put(task)
      return taskView(task)
    }
    const lease = this.#init.leases.cancel(task, reason)
    if (lease?.dispatch === 'pull') void this.#init.abortPull(lease.worker, id, lease.token)
    await store.journal.put(task)
    return taskView(task)
  }

  /** Not an async function: the caller gets this promise itself, not one more wrapped around it. */
  waitFor(id: string, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Task> {
    let task: StoredTask
    try {
      task = this.#init.store.require(id)
    } catch (err) {
      return Promise.reject(err as Error)
    }
    if (FINAL_STATES.has(task.state)) return Promise.resolve(taskView(task))
    return this.#waiters.wait(id, options)
  }

  /** Wakes the waiters of a task that reached a final state (the store calls it on every change). */
  taskChanged(task: StoredTask, viewOf: () => Task = () => taskView(task)): void {
    if (!FINAL_STATES.has(task.state)) return
    this.#waiters.wake(task.id, viewOf)
  }

  async setPriority(id: string, priority: number): Promise<Task> {
    const { store, scheduler } = this.#init
    const task = store.require(id)
    if (task.state !== 'queued') throw new TaskNotQueuedError(id, task.state)
    scheduler.dequeue(task)
    task.priority = priority
    task.updatedAt = Date.now()
    scheduler.enqueue(task)
    await store.journal.put(task)
    store.changed(task)
    return taskView(task)
  }

  async retry(id: string): Promise<Task> {
    const { store } = this.#init
    const task = store.require(id)
    if (task.state !== 'failed' && task.state !== 'dead' && task.state !== 'cancelled')
      throw new TaskNotRetryableError(id, task.state)
    store.reopen(task)
    task.state = 'queued'
    task.runAt = Date.now()
    task.updatedAt = Date.now()
    task.finishedAt = undefined
    task.expiresAt = undefined
    task.result = undefined
    task.error = undefined
    task.leaseLosses = 0
    // A manual retry grants one more attempt on top of those already used.
    task.retry = { ...task.retry, maxAttempts: Math.max(task.retry.maxAttempts, task.attempts + 1) }
    this.#init.scheduler.enqueue(task)
    await store.journal.put(task)
    store.changed(task)
    return taskView(task)
  }

  async pause(): Promise<void> {
    this.#init.store.paused = true
    await this.#init.store.saveState()
  }

  async resume(): Promise<void> {
    this.#init.store.paused = false
    await this.#init.store.saveState()
    this.#init.scheduler.schedule()
  }

  /** Removes finished or queued tasks by state; running tasks must be cancelled first. */
  async clear(states: TaskState[], confirm: boolean): Promise<number> {
    if (!confirm) throw new ConfirmationRequiredError('queue_clear removes tasks for good; pass confirm: true')
    const { store } = this.#init
    let removed = 0
    for (const task of [...store.tasks.values()]) {
      if (!states.includes(task.state) || task.state === 'running') continue
      if (task.state === 'queued') this.#init.scheduler.dequeue(task)
      await store.remove(task)
      removed++
    }
    return removed
  }

  /** A queued task no worker offers: failed at once if it asked so, else it waits with the reason shown. */
  noWorker(task: StoredTask): void {
    const { store } = this.#init
    const reason = `no worker offers tool "${task.tool}"${task.placement?.peer != null ? ` on peer ${task.placement.peer}` : ''}`
    if (task.failIfNoWorker) {
      this.#init.scheduler.dequeue(task)
      store.finish(task, 'failed', { error: reason })
      store.journal.putLater(task)
      return
    }
    if (task.reason !== reason) {
      task.reason = reason
      store.changed(task)
    }
  }

  /**
   * Arguments that fail every input schema known for the tool (this node's
   * own tool, the descriptors of the providers in the catalog, only the
   * placed peer's when the task names one) are refused at submission, not
   * left to end `dead` on a worker. A tool known by no schema yet (no local
   * tool, no descriptor) is accepted: the task waits for a provider, whose
   * worker checks the arguments when it runs it.
   */
  #checkArguments(tool: string, args: unknown, peers: readonly CatalogPeer[], placedOn?: string): void {
    const schemas: unknown[] = []
    if (placedOn == null || placedOn === this.#init.self) {
      const local = this.#init.registry.get(tool)
      if (local != null) schemas.push(local.inputSchema)
    }
    for (const peer of peers) {
      if (placedOn != null && peer.peerId !== placedOn) continue
      const schema = peer.tools.get(tool)?.descriptor?.inputSchema
      if (schema != null) schemas.push(schema)
    }
    const problem = argumentsProblem(schemas, args)
    if (problem != null) throw new InvalidTaskArgumentsError(tool, problem)
  }

  /**
   * A remote tool's defaults for a task, from the providers' own signed
   * records: the placed peer's when the task names one; otherwise each field
   * only where every provider agrees. Where they differ no provider's value
   * is taken (the first one met would set the policy of tasks that run on
   * the others): the field falls back to the default (no retry, the default
   * priority and timeout), and the submitter may set it.
   */
  #remoteMeta(
    tool: string,
    peers: readonly CatalogPeer[],
    placedOn?: string
  ): { retry?: RetryPolicy; priority?: number; timeoutMs?: number } | undefined {
    const adverts: CatalogTool[] = []
    for (const peer of peers) {
      if (placedOn != null && peer.peerId !== placedOn) continue
      const entry = peer.tools.get(tool)
      if (entry != null) adverts.push(entry)
    }
    const first = adverts[0]
    if (first == null) return undefined
    // One provider agrees with itself: its fields as they are (no canonical JSON per field per submit).
    if (adverts.length === 1) {
      const { retry, priority, timeoutMs } = first.advert
      return { retry, priority, timeoutMs }
    }
    const agreed = <T>(pick: (advert: AdvertOf) => T): T | undefined => {
      const values = adverts.map((entry) => pick(entry.advert))
      return allEqual(values) ? values[0] : undefined
    }
    return {
      // The advert's own object (a submit adds jitter): checked once, then known by identity.
      retry: agreed((advert) => advert.retry),
      priority: agreed((advert) => advert.priority),
      timeoutMs: agreed((advert) => advert.timeoutMs)
    }
  }
}
