import type { CallToolResult } from '@modelcontextprotocol/server'
import type { Datastore } from 'interface-datastore'
import { UnknownTaskError } from '../errors.js'
import type { AttemptOutcome, TaskState } from '../types.js'
import { TaskJournal } from './journal.js'
import type { StoredTask } from './types.js'

export interface TaskStoreInit {
  /** Finished tasks are kept this long. */
  resultTtlMs: number
  /** fsync every journal batch (queue.syncWrites). */
  syncWrites?: boolean
  /** Every state change of a task (the owner emits its `task` event). */
  onChange(task: StoredTask): void
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
    this.tasks.set(task.id, task)
    this.seq = Math.max(this.seq, task.seq)
    if (task.idempotencyKey != null) this.#idempotency.set(task.idempotencyKey, task.id)
  }

  async remove(task: StoredTask): Promise<void> {
    this.drop(task)
    await this.journal.delete(task.id)
  }

  /** Forgets a task in memory only (its journal write failed). */
  drop(task: StoredTask): void {
    this.tasks.delete(task.id)
    if (task.idempotencyKey != null && this.#idempotency.get(task.idempotencyKey) === task.id)
      this.#idempotency.delete(task.idempotencyKey)
  }

  changed(task: StoredTask): void {
    this.#init.onChange(task)
  }

  async saveState(): Promise<void> {
    await this.#journal?.saveState({ paused: this.paused, seq: this.seq })
  }

  /** Moves a task to a final state and keeps it (and its result) for resultTtlMs. */
  finish(task: StoredTask, state: TaskState, detail: { result?: CallToolResult; error?: string }): void {
    const now = Date.now()
    task.state = state
    task.finishedAt = now
    task.updatedAt = now
    task.lease = undefined
    task.reason = undefined
    task.expiresAt = now + this.#init.resultTtlMs
    if (detail.result != null) task.result = detail.result
    if (detail.error != null) task.error = detail.error
    else if (state === 'succeeded') task.error = undefined
    this.#init.onFinish(now)
    this.changed(task)
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
