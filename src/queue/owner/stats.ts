import { THROUGHPUT_WINDOW_MS } from '../constants.js'
import type { TaskState } from '../types.js'
import type { StoredTask } from './types.js'

export interface QueueStats {
  paused: boolean
  counts: Record<TaskState, number>
  total: number
  throughputPerSec: number
  meanWaitMs: number
  meanRunMs: number
  completed: number
  journal: { writes: number; batches: number }
}

/** Running figures of the owner: completions in the throughput window, mean wait and run times. */
export class QueueMetrics {
  readonly #completions: number[] = []
  #waitSum = 0
  #waitCount = 0
  #runSum = 0
  #runCount = 0

  /** An attempt started after the task waited `waitMs` since it became ready. */
  started(waitMs: number): void {
    this.#waitSum += waitMs
    this.#waitCount++
  }

  /** An attempt ran `runMs` and its outcome was recorded. */
  ran(runMs: number): void {
    this.#runSum += runMs
    this.#runCount++
  }

  /** Completion times kept for the throughput window. */
  get windowed(): number {
    return this.#completions.length
  }

  /** A task reached a final state. */
  finished(at: number): void {
    this.#completions.push(at)
    // Completions older than the window are dropped here too (a snapshot would drop them): without
    // queue_stats calls the list would otherwise grow by one number per task for good.
    const cutoff = at - THROUGHPUT_WINDOW_MS
    while (this.#completions[0]! < cutoff) this.#completions.shift()
  }

  snapshot(
    tasks: Iterable<StoredTask>,
    paused: boolean,
    journal: { writes: number; batches: number } | undefined
  ): QueueStats {
    const counts: Record<TaskState, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0, dead: 0 }
    let total = 0
    for (const task of tasks) {
      counts[task.state]++
      total++
    }
    const cutoff = Date.now() - THROUGHPUT_WINDOW_MS
    while (this.#completions.length > 0 && this.#completions[0]! < cutoff) this.#completions.shift()
    const windowStart = Math.max(cutoff, this.#completions[0] ?? Date.now())
    const windowMs = Math.max(1000, Date.now() - windowStart)
    return {
      paused,
      counts,
      total,
      throughputPerSec: Math.round((this.#completions.length / windowMs) * 1000 * 100) / 100,
      meanWaitMs: this.#waitCount === 0 ? 0 : Math.round(this.#waitSum / this.#waitCount),
      meanRunMs: this.#runCount === 0 ? 0 : Math.round(this.#runSum / this.#runCount),
      completed: this.#runCount,
      journal: { writes: journal?.writes ?? 0, batches: journal?.batches ?? 0 }
    }
  }
}
