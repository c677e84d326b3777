import type { Datastore } from 'interface-datastore'
import { Key } from 'interface-datastore'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { JOURNAL_PREFIX, QUEUE_STATE_KEY, UPDATE_PREFIX } from '../constants.js'
import { FINAL_STATES, type Task } from '../types.js'
import type { StoredTask } from './types.js'

const log = meshLogger('queue:journal')
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export interface QueueState {
  paused: boolean
  seq: number
}

/**
 * The fields a task never changes once accepted: written once, in the task's
 * base record. Every later write of the task is an update record holding the
 * other fields only (state, attempts, history, lease, result...).
 */
type FixedField =
  | 'id'
  | 'tool'
  | 'args'
  | 'seq'
  | 'tags'
  | 'idempotencyKey'
  | 'argsHash'
  | 'timeoutMs'
  | 'createdAt'
  | 'placement'
  | 'failIfNoWorker'
  | 'labels'
  | 'trace'

/** Every changing field of a stored task, absent ones undefined (JSON leaves them out): the compiler checks the list. */
type UpdateFields = { [K in Exclude<keyof Required<StoredTask>, FixedField>]: StoredTask[K] | undefined }

/**
 * Changing fields whose values a task's base record held, kept by identity
 * (numbers, strings and objects the queue replaces rather than mutates: a
 * task's retry policy and lease): an update record leaves out those still
 * the same, since loading overlays the update on the base anyway.
 */
type BaseValues = Pick<UpdateFields, 'priority' | 'retry' | 'runAt' | 'startedAt' | 'worker' | 'attempts' | 'lease'>

function baseValuesOf(task: StoredTask): BaseValues {
  const { priority, retry, runAt, startedAt, worker, attempts, lease } = task
  return { priority, retry, runAt, startedAt, worker, attempts, lease }
}

/** A put's value is the record's JSON text: LevelDB takes it as UTF-8 (`valueEncoding: 'utf8'`), with no byte copy in JS. */
type Op = { type: 'put'; key: string; value: string; valueEncoding: 'utf8' } | { type: 'del'; key: string }

const baseKey = (id: string): string => `${JOURNAL_PREFIX}/${id}`
const updateKey = (id: string): string => `${UPDATE_PREFIX}/${id}`

/**
 * The task's changing fields (its update record), less those still as its
 * base record holds them (when this journal wrote that record: `base`). One
 * literal, not a walk of the task's keys against a set of fixed ones.
 */
function updateOf(task: StoredTask, base: BaseValues | undefined): UpdateFields {
  const update: UpdateFields = {
    state: task.state,
    priority: task.priority,
    retry: task.retry,
    runAt: task.runAt,
    updatedAt: task.updatedAt,
    startedAt: task.startedAt,
    finishedAt: task.finishedAt,
    attempts: task.attempts,
    history: task.history,
    worker: task.worker,
    result: task.result,
    error: task.error,
    reason: task.reason,
    expiresAt: task.expiresAt,
    lease: task.lease,
    leaseLosses: task.leaseLosses,
    handBacks: task.handBacks
  }
  if (base == null) return update
  if (base.priority === update.priority) update.priority = undefined
  if (base.retry === update.retry) update.retry = undefined
  if (base.runAt === update.runAt) update.runAt = undefined
  if (base.startedAt === update.startedAt) update.startedAt = undefined
  if (base.worker === update.worker) update.worker = undefined
  if (base.attempts === update.attempts) update.attempts = undefined
  if (base.lease === update.lease) update.lease = undefined
  return update
}

/** A LevelDB-backed datastore (datastore-level) exposes its level; batches then go to it directly, with options. */
interface LevelBatch {
  batch(ops: Op[], options?: { sync?: boolean }): Promise<void>
}

function levelOf(datastore: Datastore): LevelBatch | undefined {
  const db = (datastore as { db?: Partial<LevelBatch> }).db
  return typeof db?.batch === 'function' ? (db as LevelBatch) : undefined
}

export interface TaskJournalOptions {
  /**
   * fsync each batch (LevelDB `sync: true`): acknowledged tasks survive a
   * power loss too, at one disk flush per group commit. Only for a
   * LevelDB-backed datastore; others ignore it.
   */
  sync?: boolean
}

/**
 * The owner's durable record of its tasks, in the node's datastore. A task
 * is written in full once (its base record, `/mcp-mesh/tasks/<id>`); later
 * writes are update records (`/mcp-mesh/task-updates/<id>`, the fields that
 * change), and loading overlays the update on the base (and compacts the
 * pair back into a base record).
 *
 * Writes are group-committed: one batch is in flight at a time; every put
 * or delete issued meanwhile and in the turn it ends (or, when none is in
 * flight, in the same turn of the event loop) goes into the next one, and each caller's promise resolves
 * once the batch holding its write is committed. Writes of one task in one
 * batch are one record. A submit awaits its write, so an acknowledged task
 * survives a crash of the process (see docs/queue.md for what is synced when).
 */
export class TaskJournal {
  readonly #datastore: Datastore
  readonly #level?: LevelBatch
  readonly #sync: boolean
  /**
   * Tasks whose base record is written (or in the batch in flight): later
   * writes are updates. The value: the base's changing fields, when this
   * journal wrote it; null when they are not known (tasks loaded from disk).
   */
  readonly #based = new Map<string, BaseValues | null>()
  #pending = new Map<string, Task | null>()
  /** The queue state to write in the next batch, if it changed. */
  #state?: QueueState
  /** The promise of the next batch, once a writer waits for it. */
  #next?: PromiseWithResolvers<void>
  /** The promise of the batch in flight, if a writer waited for it. */
  #committing?: Promise<void>
  /** The tasks whose base record is in the batch in flight. */
  readonly #inFlightBases = new Set<string>()
  #timer?: NodeJS.Immediate
  /** The batch being committed, if any. */
  #writing?: Promise<void>
  writes = 0
  batches = 0

  constructor(datastore: Datastore, options: TaskJournalOptions = {}) {
    this.#datastore = datastore
    this.#sync = options.sync === true
    this.#level = levelOf(datastore)
  }

  /** Resolves once the batch holding this write is committed (the promise is shared by the batch's writers). */
  put(task: Task): Promise<void> {
    this.#pending.set(task.id, task)
    return this.#schedule()
  }

  /** Records the task without waiting for the disk (state changes that are re-derivable on recovery). */
  putLater(task: Task): void {
    this.#pending.set(task.id, task)
    this.#arm()
  }

  /** Deletes the task's records without waiting for the disk (a failed batch is logged). */
  deleteLater(id: string): void {
    this.#pending.set(id, null)
    this.#arm()
  }

  delete(id: string): Promise<void> {
    this.#pending.set(id, null)
    return this.#schedule()
  }

  /**
   * Resolves once the task's base record (its acceptance) is committed;
   * undefined when it is already (or the task was never written).
   */
  accepted(id: string): Promise<void> | undefined {
    if (this.#inFlightBases.has(id)) return this.#committing ?? this.#writing
    if (!this.#based.has(id) && this.#pending.get(id) != null) return this.#schedule()
    return undefined
  }

  /** Every journaled task, its update overlaid on its base; pairs are compacted into one base record. */
  async loadAll(): Promise<Task[]> {
    const tasks = new Map<string, Task>()
    for await (const { key, value } of this.#datastore.query({ prefix: `${JOURNAL_PREFIX}/` })) {
      try {
        const task = JSON.parse(decoder.decode(value)) as Task
        tasks.set(key.baseNamespace(), task)
      } catch (err) {
        log.error('skipping unreadable journal entry: %s', errorMessage(err))
      }
    }
    const compact = this.#datastore.batch()
    let updates = 0
    for await (const { key, value } of this.#datastore.query({ prefix: `${UPDATE_PREFIX}/` })) {
      const id = key.baseNamespace()
      const task = tasks.get(id)
      try {
        if (task != null) {
          Object.assign(task, JSON.parse(decoder.decode(value)))
          compact.put(new Key(baseKey(id)), encoder.encode(JSON.stringify(task)))
        }
      } catch (err) {
        log.error('skipping unreadable journal update of %s: %s', id, errorMessage(err))
      }
      // An update without its base (a write torn by a crash cannot do that: both are in one batch) is dropped.
      compact.delete(key)
      updates++
    }
    if (updates > 0) await compact.commit()
    for (const id of tasks.keys()) this.#based.set(id, null)
    return [...tasks.values()]
  }

  async loadState(): Promise<QueueState | undefined> {
    try {
      return JSON.parse(decoder.decode(await this.#datastore.get(new Key(QUEUE_STATE_KEY)))) as QueueState
    } catch {
      return undefined
    }
  }

  /** Writes the queue state in the next batch (with the tasks' writes); resolves once it is committed. */
  saveState(state: QueueState): Promise<void> {
    this.#state = state
    return this.#schedule()
  }

  /** Waits for every write issued so far. */
  async flush(): Promise<void> {
    for (;;) {
      clearImmediate(this.#timer)
      this.#timer = undefined
      this.#startWrite()
      if (this.#writing == null) return
      await this.#writing
    }
  }

  /** The next batch's promise, shared by every write that waits for it. */
  #schedule(): Promise<void> {
    let next = this.#next
    if (next == null) {
      next = Promise.withResolvers<void>()
      // Writers that do not wait (putLater) must not leave an unhandled rejection behind.
      next.promise.catch(() => {})
      this.#next = next
    }
    this.#arm()
    return next.promise
  }

  /**
   * Everything issued in this turn of the event loop shares one batch, or,
   * while a batch is in flight, everything issued until the turn in which it
   * ends (see #afterWrite).
   */
  #arm(): void {
    if (this.#timer == null && this.#writing == null) {
      this.#timer = setImmediate(this.#onTimer)
    }
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined
    this.#startWrite()
  }

  /** Commits what is pending as one batch, unless one is in flight (then it follows that one). */
  #startWrite(): void {
    if (this.#writing != null || (this.#pending.size === 0 && this.#state == null)) return
    this.#writing = this.#write().finally(this.#afterWrite)
  }

  /**
   * The next batch starts in the check phase of the turn in which this one
   * ended, not at once: the scheduler's pump (queued earlier in that phase)
   * first starts the leases of the tasks submitted meanwhile, so a task's
   * acceptance and its lease stay one record in one batch.
   */
  readonly #afterWrite = (): void => {
    this.#writing = undefined
    this.#committing = undefined
    this.#inFlightBases.clear()
    if (this.#pending.size > 0 || this.#state != null) this.#arm()
  }

  async #write(): Promise<void> {
    const pending = this.#pending
    const waiters = this.#next
    this.#pending = new Map()
    this.#next = undefined
    this.#committing = waiters?.promise
    const ops: Op[] = []
    const state = this.#state
    this.#state = undefined
    if (state != null)
      ops.push({ type: 'put', key: QUEUE_STATE_KEY, value: JSON.stringify(state), valueEncoding: 'utf8' })
    const based: string[] = []
    for (const [id, task] of pending) {
      if (task == null) {
        ops.push({ type: 'del', key: baseKey(id) }, { type: 'del', key: updateKey(id) })
        this.#based.delete(id)
        continue
      }
      // One look-up: undefined is a task without a base record yet.
      const base = this.#based.get(id)
      if (base !== undefined) {
        const update = updateOf(task, base ?? undefined)
        ops.push({ type: 'put', key: updateKey(id), value: JSON.stringify(update), valueEncoding: 'utf8' })
        // A finished task rarely changes again: its base values are not kept for good (later updates are whole).
        if (base != null && FINAL_STATES.has(task.state)) this.#based.set(id, null)
      } else {
        ops.push({ type: 'put', key: baseKey(id), value: JSON.stringify(task), valueEncoding: 'utf8' })
        this.#based.set(id, baseValuesOf(task))
        this.#inFlightBases.add(id)
        based.push(id)
      }
    }
    try {
      await this.#commit(ops)
      this.writes += pending.size
      this.batches++
      waiters?.resolve()
    } catch (err) {
      // Not written: the next write of these tasks must be a base record again.
      for (const id of based) this.#based.delete(id)
      this.#state ??= state
      log.error('journal write failed: %s', errorMessage(err))
      waiters?.reject(err as Error)
    }
  }

  async #commit(ops: Op[]): Promise<void> {
    if (this.#level != null) {
      await this.#level.batch(ops, this.#sync ? { sync: true } : undefined)
      return
    }
    const batch = this.#datastore.batch()
    for (const op of ops) {
      if (op.type === 'put') batch.put(new Key(op.key), encoder.encode(op.value))
      else batch.delete(new Key(op.key))
    }
    await batch.commit()
  }
}
