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
 * are group-committed: every put or delete issued in one turn of the event
 * loop goes into one LevelDB batch, and each caller's promise resolves once that batch
 * is on disk. A submit awaits its write, so an acknowledged task survives a
 * crash.
 */
export class TaskJournal {
  readonly #datastore: Datastore
  #pending = new Map<string, Task | null>()
  #waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = []
  #timer?: NodeJS.Immediate
  #flushing: Promise<void> = Promise.resolve()
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
    if (this.#pending.size > 0) {
      clearImmediate(this.#timer)
      this.#timer = undefined
      await this.#write()
    }
    await this.#flushing
  }

  #schedule(): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>()
    this.#waiters.push({ resolve, reject })
    if (this.#timer == null) {
      // One batch per event-loop turn: everything issued in this turn shares it.
      this.#timer = setImmediate(() => {
        this.#timer = undefined
        void this.#write()
      })
    }
    return promise
  }

  async #write(): Promise<void> {
    const pending = this.#pending
    const waiters = this.#waiters
    this.#pending = new Map()
    this.#waiters = []
    const previous = this.#flushing
    const run = (async () => {
      await previous.catch(() => {})
      const batch = this.#datastore.batch()
      for (const [id, task] of pending) {
        const key = new Key(`${JOURNAL_PREFIX}/${id}`)
        if (task == null) batch.delete(key)
        else batch.put(key, encoder.encode(JSON.stringify(task)))
      }
      await batch.commit()
      this.writes += pending.size
      this.batches++
    })()
    this.#flushing = run.catch(() => {})
    try {
      await run
      for (const waiter of waiters) waiter.resolve()
    } catch (err) {
      log.error('journal write failed: %s', errorMessage(err))
      for (const waiter of waiters) waiter.reject(err as Error)
    }
  }
}
