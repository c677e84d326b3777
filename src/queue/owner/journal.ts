import type { Datastore } from 'interface-datastore'
import { Key } from 'interface-datastore'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { JOURNAL_PREFIX, QUEUE_STATE_KEY } from '../constants.js'
import type { Task } from '../types.js'

const log = meshLogger('queue:journal')
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export interface QueueState {
  paused: boolean
  seq: number
}

/**
 * The owner's durable record of its tasks, in the node's datastore. Writes
 * are group-committed: one LevelDB batch is in flight at a time; every put
 * or delete issued meanwhile (or, when none is in flight, in the same turn of
 * the event loop) goes into the next one, and each caller's promise resolves
 * once the batch holding its write is committed. A submit awaits its write,
 * so an acknowledged task survives a crash of the process (see docs/queue.md
 * for what is synced when).
 */
export class TaskJournal {
  readonly #datastore: Datastore
  #pending = new Map<string, Task | null>()
  #waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = []
  #timer?: NodeJS.Immediate
  /** The batch being committed, if any. */
  #writing?: Promise<void>
  writes = 0
  batches = 0

  constructor(datastore: Datastore) {
    this.#datastore = datastore
  }

  async put(task: Task): Promise<void> {
    this.#pending.set(task.id, task)
    return this.#schedule()
  }

  /** Records the task without waiting for the disk (state changes that are re-derivable on recovery). */
  putLater(task: Task): void {
    this.#pending.set(task.id, task)
    void this.#schedule().catch(() => {})
  }

  async delete(id: string): Promise<void> {
    this.#pending.set(id, null)
    return this.#schedule()
  }

  async loadAll(): Promise<Task[]> {
    const tasks: Task[] = []
    for await (const { value } of this.#datastore.query({ prefix: JOURNAL_PREFIX })) {
      try {
        tasks.push(JSON.parse(decoder.decode(value)) as Task)
      } catch (err) {
        log.error('skipping unreadable journal entry: %s', errorMessage(err))
      }
    }
    return tasks
  }

  async loadState(): Promise<QueueState | undefined> {
    try {
      return JSON.parse(decoder.decode(await this.#datastore.get(new Key(QUEUE_STATE_KEY)))) as QueueState
    } catch {
      return undefined
    }
  }

  async saveState(state: QueueState): Promise<void> {
    await this.#datastore.put(new Key(QUEUE_STATE_KEY), encoder.encode(JSON.stringify(state)))
  }

  /** Waits for every write issued so far. */
  async flush(): Promise<void> {
    clearImmediate(this.#timer)
    this.#timer = undefined
    this.#startWrite()
    while (this.#writing != null) await this.#writing
  }

  #schedule(): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>()
    this.#waiters.push({ resolve, reject })
    // A batch in flight takes the next one along when it ends; else everything
    // issued in this turn of the event loop shares one batch.
    if (this.#timer == null && this.#writing == null) {
      this.#timer = setImmediate(() => {
        this.#timer = undefined
        this.#startWrite()
      })
    }
    return promise
  }

  /** Commits what is pending as one batch, unless one is in flight (then it follows that one). */
  #startWrite(): void {
    if (this.#writing != null || this.#pending.size === 0) return
    this.#writing = this.#write().finally(() => {
      this.#writing = undefined
      this.#startWrite()
    })
  }

  async #write(): Promise<void> {
    const pending = this.#pending
    const waiters = this.#waiters
    this.#pending = new Map()
    this.#waiters = []
    try {
      const batch = this.#datastore.batch()
      for (const [id, task] of pending) {
        const key = new Key(`${JOURNAL_PREFIX}/${id}`)
        if (task == null) batch.delete(key)
        else batch.put(key, encoder.encode(JSON.stringify(task)))
      }
      await batch.commit()
      this.writes += pending.size
      this.batches++
      for (const waiter of waiters) waiter.resolve()
    } catch (err) {
      log.error('journal write failed: %s', errorMessage(err))
      for (const waiter of waiters) waiter.reject(err as Error)
    }
  }
}
