import type { CallToolResult } from '@modelcontextprotocol/server'
import { ChurnMap } from '../../util/churn-map.js'
import { LazyQueue } from '../../util/lazy-queue.js'

/** A peer's task result a worker keeps for a re-lease. */
export interface RecentResult {
  id: string
  owner: string
  token: string
  result: CallToolResult
  finishedAt: number
}

interface Entry extends RecentResult {
  key: string
  /** The owner's queue the entry is in. */
  queue: EntryQueue
  dropped: boolean
}

/** Dropped entries a queue lets pile up (and at least twice as many as it holds live) before it compacts. */
const MIN_DROPPED = 64

const notDropped = (entry: Entry): boolean => !entry.dropped

/** An owner's entries (or all of them), oldest first, with how many are not dropped. */
class EntryQueue {
  readonly #queue = new LazyQueue<Entry>(notDropped, MIN_DROPPED)
  /** Entries pushed and not dropped. */
  live = 0

  push(entry: Entry): void {
    this.#queue.push(entry)
    this.live++
  }

  /** The oldest live entry. */
  first(): Entry | undefined {
    return this.#queue.first()
  }

  /** Counts an entry of this queue dropped. */
  dropped(): void {
    this.live--
    this.#queue.compact(this.live)
  }
}

export interface RecentResultsLimits {
  /** How long a result is kept. */
  maxAgeMs: number
  /** Results kept in all (the oldest dropped first). */
  max: number
  /** Results kept per owner (the owner's oldest dropped first). */
  maxPerOwner: number
}

/**
 * The results of peers' tasks a worker keeps for re-leases, by key, bounded
 * in age, in all and per owner. Dropping the oldest (in all or of one owner)
 * never walks the kept ones: both orders are queues of their own.
 */
export class RecentResults {
  readonly #limits: RecentResultsLimits
  readonly #byKey = new ChurnMap<string, Entry>()
  readonly #order = new EntryQueue()
  readonly #byOwner = new Map<string, EntryQueue>()

  constructor(limits: RecentResultsLimits) {
    this.#limits = limits
  }

  /** The kept results by key (read-only). */
  get entries(): ReadonlyMap<string, RecentResult> {
    return this.#byKey
  }

  /** Number of results of `owner` kept. */
  countOf(owner: string): number {
    return this.#byOwner.get(owner)?.live ?? 0
  }

  /** Keeps a result under `key` (replacing one kept under it), then drops what the limits no longer allow. */
  remember(key: string, result: RecentResult): void {
    const { maxAgeMs, max, maxPerOwner } = this.#limits
    this.forget(key)
    const { id, owner, token, finishedAt } = result
    let mine = this.#byOwner.get(owner)
    if (mine != null && mine.live >= maxPerOwner) {
      const oldest = mine.first()
      if (oldest != null) this.#drop(oldest)
      // Dropping the owner's last entry drops its queue.
      if (mine.live === 0) mine = undefined
    }
    if (mine == null) {
      mine = new EntryQueue()
      this.#byOwner.set(owner, mine)
    }
    const entry: Entry = { id, owner, token, result: result.result, finishedAt, key, queue: mine, dropped: false }
    this.#byKey.set(key, entry)
    this.#order.push(entry)
    mine.push(entry)
    for (let oldest = this.#order.first(); oldest != null; oldest = this.#order.first()) {
      if (finishedAt - oldest.finishedAt < maxAgeMs && this.#byKey.size <= max) break
      this.#drop(oldest)
    }
  }

  forget(key: string): void {
    const entry = this.#byKey.get(key)
    if (entry != null) this.#drop(entry)
  }

  #drop(entry: Entry): void {
    entry.dropped = true
    this.#byKey.delete(entry.key)
    this.#order.dropped()
    const mine = entry.queue
    mine.dropped()
    if (mine.live === 0 && this.#byOwner.get(entry.owner) === mine) this.#byOwner.delete(entry.owner)
  }
}
