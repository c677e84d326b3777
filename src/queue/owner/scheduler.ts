import { MAX_PRIORITY, MIN_PRIORITY } from '../../tools/meta.js'
import { claimableBy } from './placement.js'
import type { StoredTask, WorkerChoice } from './types.js'

export interface SchedulerInit {
  tasks: ReadonlyMap<string, StoredTask>
  /** Whether the queue runs (started and not paused): the pump does nothing otherwise. */
  started(): boolean
  paused(): boolean
  /** Where a task would run now. */
  choose(task: StoredTask): WorkerChoice
  /** Hands a task (already out of its bucket) to the chosen worker. */
  dispatch(task: StoredTask, choice: Extract<WorkerChoice, { kind: 'local' | 'push' }>): void
  /** No worker offers the task's tool (with its placement). */
  noWorker(task: StoredTask): void
}

/** What makes tasks compete for the same workers: tool, placed peer, local-only. */
function blockKey(task: StoredTask): string {
  return `${task.tool}\0${task.placement?.peer ?? ''}\0${task.placement?.local === true}`
}

/**
 * The priority pump: ready queued tasks in one FIFO bucket per priority
 * (ordered by submission seq), delayed ones aside until their runAt. The
 * pump hands tasks to workers, highest priority first, while workers have
 * room; a saturated tool blocks its lower-priority tasks too.
 */
export class Scheduler {
  readonly #init: SchedulerInit
  /** Ready-to-run queued task IDs by priority, each FIFO by seq. */
  readonly #buckets: string[][] = Array.from({ length: MAX_PRIORITY + 1 }, () => [])
  /** Queued tasks whose runAt is in the future. */
  readonly #delayed = new Set<string>()
  #delayTimer?: NodeJS.Timeout
  #pumpScheduled = false

  constructor(init: SchedulerInit) {
    this.#init = init
  }

  /** Puts a queued task in line (or aside until its runAt) and schedules the pump. */
  enqueue(task: StoredTask): void {
    if (task.runAt > Date.now()) {
      this.#delayed.add(task.id)
      this.#armDelayTimer()
      return
    }
    const tasks = this.#init.tasks
    const bucket = this.#buckets[task.priority]!
    // FIFO by seq: appends are the common case; a re-queued older task is inserted in place.
    if (bucket.length === 0 || tasks.get(bucket.at(-1)!)!.seq < task.seq) bucket.push(task.id)
    else {
      let lo = 0
      let hi = bucket.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (tasks.get(bucket[mid]!)!.seq < task.seq) lo = mid + 1
        else hi = mid
      }
      bucket.splice(lo, 0, task.id)
    }
    this.schedule()
  }

  dequeue(task: StoredTask): void {
    if (this.#delayed.delete(task.id)) return
    const bucket = this.#buckets[task.priority]!
    const index = bucket.indexOf(task.id)
    if (index >= 0) bucket.splice(index, 1)
  }

  /**
   * Runs the pump once in the next turn of the event loop (coalescing
   * requests); not at all while no task is in line (a slot freed or a task
   * finished with nothing queued: the pump would find nothing to hand out).
   */
  schedule(): void {
    if (this.#pumpScheduled || !this.#init.started() || this.#idle()) return
    this.#pumpScheduled = true
    setImmediate(this.#onImmediate)
  }

  /** No task in any bucket (delayed ones come back through enqueue). */
  #idle(): boolean {
    for (const bucket of this.#buckets) if (bucket.length > 0) return false
    return true
  }

  /** The scheduled pump (one callback for the scheduler's life, not a closure per schedule). */
  readonly #onImmediate = (): void => {
    this.#pumpScheduled = false
    this.pump()
  }

  stop(): void {
    clearTimeout(this.#delayTimer)
  }

  /** Hands ready tasks to workers, highest priority first, while workers have room. */
  pump(): void {
    if (this.#init.paused() || !this.#init.started()) return
    /** Kinds of task (tool, placed peer, local) no worker has room for in this pass; made at the first such task. */
    let blocked: Set<string> | undefined
    for (let priority = MAX_PRIORITY; priority >= MIN_PRIORITY; priority--) {
      const bucket = this.#buckets[priority]!
      let index = 0
      while (index < bucket.length) {
        const task = this.#init.tasks.get(bucket[index]!)
        if (task == null || task.state !== 'queued') {
          bucket.splice(index, 1)
          continue
        }
        // A saturated tool blocks its lower-priority tasks too, so priorities hold.
        if (blocked?.has(blockKey(task)) === true) {
          index++
          continue
        }
        const choice = this.#init.choose(task)
        if (choice.kind === 'busy' || choice.kind === 'none') {
          blocked ??= new Set()
          blocked.add(blockKey(task))
          if (choice.kind === 'none') this.#init.noWorker(task)
          index++
          continue
        }
        bucket.splice(index, 1)
        task.reason = undefined
        this.#init.dispatch(task, choice)
      }
    }
  }

  /**
   * The task a claim is granted: the claimed one, unless a queued task of
   * the same tool ranks ahead of it (higher priority, or earlier in its
   * class) and this worker may take it too. Workers claim from an
   * announcement that can be seconds old; a task requeued since (its worker
   * was busy) must not lose its place to lower-priority ones. A substitute
   * asks nothing the claimed task did not: same tool, no tags beyond the
   * claimed task's, no spread constraint.
   */
  bestClaimFor(claimed: StoredTask, peer: string): StoredTask {
    const now = Date.now()
    const tags = new Set(claimed.placement?.tags ?? [])
    for (let priority = MAX_PRIORITY; priority >= claimed.priority; priority--) {
      for (const id of this.#buckets[priority]!) {
        if (id === claimed.id) return claimed
        const task = this.#init.tasks.get(id)
        if (task == null || task.tool !== claimed.tool || task.runAt > now || task.placement?.spread != null) continue
        if (!claimableBy(task, peer) || !(task.placement?.tags ?? []).every((tag) => tags.has(tag))) continue
        return task
      }
    }
    return claimed
  }

  /** Ready queued tasks a peer may claim, highest priority first, at most `limit`. */
  open(limit: number): StoredTask[] {
    const open: StoredTask[] = []
    for (let priority = MAX_PRIORITY; priority >= MIN_PRIORITY && open.length < limit; priority--) {
      for (const id of this.#buckets[priority]!) {
        const task = this.#init.tasks.get(id)
        if (task == null || task.state !== 'queued' || task.placement?.local === true) continue
        open.push(task)
        if (open.length >= limit) break
      }
    }
    return open
  }

  #armDelayTimer(): void {
    clearTimeout(this.#delayTimer)
    const tasks = this.#init.tasks
    let next = Number.POSITIVE_INFINITY
    for (const id of this.#delayed) next = Math.min(next, tasks.get(id)?.runAt ?? next)
    if (!Number.isFinite(next)) return
    this.#delayTimer = setTimeout(
      () => {
        const now = Date.now()
        for (const id of [...this.#delayed]) {
          const task = tasks.get(id)
          if (task == null || task.runAt <= now) {
            this.#delayed.delete(id)
            if (task != null) this.enqueue(task)
          }
        }
        this.#armDelayTimer()
      },
      Math.max(0, next - Date.now())
    )
    this.#delayTimer.unref()
  }
}
