import type { CallToolResult } from '@modelcontextprotocol/server'
import type { Datastore } from 'interface-datastore'
import { UnknownTaskError } from '../errors.js'
import { type AttemptOutcome, FINAL_STATES, type Task, type TaskState } from '../types.js'
import { LazyQueue } from '../../util/lazy-queue.js'
import { TaskJournal } from './journal.js'
import type { StoredTask } from './types.js'

/** The finish order drops its consumed head, or its stale entries, once they are most of it and more than this many. */
const COMPACT_AFTER = 1024

/** A task's place in the finish order: its id only, so an entry keeps no deleted task (or result) alive. */
interface FinishEntry {
  readonly id: string
}

export interface TaskStoreInit {
  /** Finished tasks are kept this long. */
  resultTtlMs: number
  /** At most this many finished tasks are kept: the oldest finished go first (DEFAULT_MAX_FINISHED_TASKS). */
  maxFinished: number
  /** fsync every journal batch (queue.syncWrites). */
  syncWrites?: boolean
  /** Every state change of a task (the owner emits its `task` event); `view`: its view, when the caller has one. */
  onChange(task: StoredTask, view?: Task): void
  /** A task reached a final state at `at`. */
  onFinish(at: number): void
}

/**
 * The owner's tasks: in memory by ID and by idempotency key, and in the
 * journal. Also the queue's durable state (paused, submission counter).
 */
export class TaskStore {
  readonly tasks = new Map<string, StoredTask>()
  readonly #idempotency = new Map<string, string>()
  readonly #init: TaskStoreInit
  #journal?: TaskJournal
  /**
   * Finished tasks, oldest first (by when they finished). An entry is current
   * while `#current` maps its task to it: a task finished again has a newer one.
   */
  #finishOrder = this.#newFinishOrder()
  readonly #current = new WeakMap<StoredTask, FinishEntry>()
  /** Tasks in `tasks` in a final state. */
  #finishedCount = 0
  paused = false
  seq = 0

  constructor(init: TaskStoreInit) {
    this.#init = init
  }

  /** Opens the journal and loads the queue state (not the tasks: see recovery). */
  async open(datastore: Datastore): Promise<void> {
    this.#journal = new TaskJournal(datastore, { sync: this.#init.syncWrites })
    const state = await this.#journal.loadState()
    this.paused = state?.paused ?? false
    this.seq = state?.seq ?? 0
  }

  get journal(): TaskJournal {
    if (this.#journal == null) throw new Error('the task queue is not started')
    return this.#journal
  }

  get opened(): boolean {
    return this.#journal != null
  }

  get(id: string): StoredTask | undefined {
    return this.tasks.get(id)
  }

  require(id: string): StoredTask {
    const task = this.tasks.get(id)
    if (task == null) throw new UnknownTaskError(id)
    return task
  }

  byIdempotencyKey(key: string): StoredTask | undefined {
    const id = this.#idempotency.get(key)
    return id == null ? undefined : this.tasks.get(id)
  }

  add(task: StoredTask): void {
    const replaced = this.tasks.get(task.id)
    if (replaced != null && FINAL_STATES.has(replaced.state)) this.#finishedCount--
    this.tasks.set(task.id, task)
    this.seq = Math.max(this.seq, task.seq)
    if (task.idempotencyKey != null) this.#idempotency.set(task.idempotencyKey, task.id)
    // A finished task read back from the journal counts towards maxFinished (see trimFinished).
    if (FINAL_STATES.has(task.state)) this.#noteFinished(task)
  }

  /** Finished tasks held (in memory and in the journal). */
  get finishedCount(): number {
    return this.#finishedCount
  }

  async remove(task: StoredTask): Promise<void> {
    this.drop(task)
    await this.journal.delete(task.id)
  }

  /** Forgets a task in memory only (its journal write failed). */
  drop(task: StoredTask): void {
    if (this.tasks.get(task.id) !== task) return
    if (FINAL_STATES.has(task.state)) this.#finishedCount--
    this.tasks.delete(task.id)
    if (task.idempotencyKey != null && this.#idempotency.get(task.idempotencyKey) === task.id)
      this.#idempotency.delete(task.idempotencyKey)
  }

  /** A task changed; `view`, when given, is its current view (`taskView`), used instead of another copy. */
  changed(task: StoredTask, view?: Task): void {
    this.#init.onChange(task, view)
  }

  async saveState(): Promise<void> {
    await this.#journal?.saveState({ paused: this.paused, seq: this.seq })
  }

  /** Moves a task to a final state and keeps it (and its result) for resultTtlMs. */
  finish(task: StoredTask, state: TaskState, detail: { result?: CallToolResult; error?: string }): void {
    const now = Date.now()
    const wasFinal = FINAL_STATES.has(task.state)
    task.state = state
    task.finishedAt = now
    task.updatedAt = now
    task.lease = undefined
    task.reason = undefined
    task.expiresAt = now + this.#init.resultTtlMs
    if (detail.result != null) task.result = detail.result
    if (detail.error != null) task.error = detail.error
    else if (state === 'succeeded') task.error = undefined
    if (this.tasks.get(task.id) === task) {
      if (wasFinal) this.#finishedCount--
      this.#noteFinished(task)
    }
    this.#init.onFinish(now)
    this.changed(task)
    this.trimFinished()
  }

  /** A finished task goes back in line (a retry): it no longer counts as finished. */
  reopen(task: StoredTask): void {
    if (this.tasks.get(task.id) === task && FINAL_STATES.has(task.state)) this.#finishedCount--
  }

  /**
   * Deletes the oldest finished tasks (memory now, journal in the background)
   * until at most maxFinished are left: a bound on what results retention
   * holds however fast tasks finish, besides resultTtlMs.
   */
  trimFinished(): void {
    while (this.#finishedCount > this.#init.maxFinished) {
      const entry = this.#finishOrder.shift()
      if (entry == null) break
      // shift() gives current entries only (#currentTask): the task is held, and finished.
      const task = this.tasks.get(entry.id)!
      // Nothing awaits it (the journal logs a failed batch): no promise per trimmed task.
      this.drop(task)
      this.journal.deleteLater(task.id)
    }
  }

  #newFinishOrder(): LazyQueue<FinishEntry> {
    return new LazyQueue((entry) => this.#currentTask(entry) != null, COMPACT_AFTER)
  }

  /** The task the entry stands for, if it is still held, still finished, and not finished again since. */
  #currentTask(entry: FinishEntry): StoredTask | undefined {
    const task = this.tasks.get(entry.id)
    return task != null && this.#current.get(task) === entry && FINAL_STATES.has(task.state) ? task : undefined
  }

  /**
   * After recovery added the journal's tasks (in submission order): puts the
   * finished ones in the order they finished, then trims to maxFinished, so
   * a journal written under a larger bound loses its oldest finished tasks.
   */
  loaded(): void {
    const finished: StoredTask[] = []
    for (let entry = this.#finishOrder.shift(); entry != null; entry = this.#finishOrder.shift()) {
      finished.push(this.tasks.get(entry.id)!)
    }
    finished.sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0))
    this.#finishOrder = this.#newFinishOrder()
    for (const task of finished) {
      const entry: FinishEntry = { id: task.id }
      this.#current.set(task, entry)
      this.#finishOrder.push(entry)
    }
    this.trimFinished()
  }

  #noteFinished(task: StoredTask): void {
    this.#finishedCount++
    const entry: FinishEntry = { id: task.id }
    this.#current.set(task, entry)
    this.#finishOrder.push(entry)
    // Stale entries (tasks retried, finished again, deleted by TTL or queue_clear) are dropped once they outnumber
    // the live ones: the order stays within about twice the finished tasks held, however they leave.
    this.#finishOrder.compact(this.#finishedCount)
  }
}

/** Closes the task's current attempt with its outcome (once; later calls are ignored). */
export function closeAttempt(task: StoredTask, outcome: AttemptOutcome, error?: string): void {
  const attempt = task.history.at(-1)
  if (attempt == null || attempt.finishedAt != null) return
  attempt.finishedAt = Date.now()
  attempt.outcome = outcome
  if (error != null) attempt.error = error.slice(0, 2000)
}
