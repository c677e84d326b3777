import { AsyncLocalStorage } from 'node:async_hooks'
import { DEADLINE_TOLERANCE_MS } from './constants.js'

/** One pending deadline (see `Deadlines.add`). */
export interface Deadline {
  /** performance.now() at which it expires. */
  readonly at: number
  readonly expire: () => void
  /** Runs `expire` in the async context of the `add` that made it. */
  readonly scope: (fn: () => void) => void
  readonly list: Set<Deadline>
}

/**
 * Deadlines of local tool calls on one shared timer. A timer per call
 * (setTimeout, then clearTimeout once the call settles, which is nearly
 * always first) costs about 0.5 µs and a Timeout object per call; here a call
 * costs an entry in an insertion-ordered set per duration (each set is thus
 * ordered by deadline), and the one timer is re-armed only when a deadline
 * comes before the armed one, or when it fires. It fires each deadline at
 * its time, within DEADLINE_TOLERANCE_MS (a per-call timer is itself only
 * as precise as the event loop's millisecond clock), in the async context
 * of the call that set it, as a per-call timer would. The timer keeps the
 * process alive only while some deadline is pending, as per-call timers did.
 */
export class Deadlines {
  readonly #lists = new Map<number, Set<Deadline>>()
  #timer?: NodeJS.Timeout
  /** When the armed timer fires (performance.now()); Infinity when none is armed. */
  #armedAt = Number.POSITIVE_INFINITY
  #pending = 0

  /** Runs `expire` once `ms` have passed, unless `cancel` comes first. */
  add(ms: number, expire: () => void): Deadline {
    const at = performance.now() + ms
    let list = this.#lists.get(ms)
    if (list === undefined) {
      list = new Set()
      this.#lists.set(ms, list)
    }
    const deadline: Deadline = { at, expire, scope: AsyncLocalStorage.snapshot(), list }
    list.add(deadline)
    if (this.#pending++ === 0) this.#timer?.ref()
    if (at < this.#armedAt) this.#arm(at, ms)
    return deadline
  }

  cancel(deadline: Deadline): void {
    if (!deadline.list.delete(deadline)) return
    // The armed timer stays (most calls end long before it fires); it no longer holds the process.
    if (--this.#pending === 0) this.#timer?.unref()
  }

  #arm(at: number, delay: number): void {
    clearTimeout(this.#timer)
    this.#armedAt = at
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(delay)))
    if (this.#pending === 0) this.#timer.unref()
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    this.#armedAt = Number.POSITIVE_INFINITY
    const due = performance.now() + DEADLINE_TOLERANCE_MS
    const expired: Deadline[] = []
    let next = Number.POSITIVE_INFINITY
    for (const [ms, list] of this.#lists) {
      for (const deadline of list) {
        if (deadline.at > due) {
          next = Math.min(next, deadline.at)
          break
        }
        list.delete(deadline)
        this.#pending--
        expired.push(deadline)
      }
      if (list.size === 0) this.#lists.delete(ms)
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next, next - performance.now())
    for (const deadline of expired) {
      try {
        deadline.scope(deadline.expire)
      } catch (err) {
        // Thrown as from a timer of its own, without keeping the other deadlines from expiring.
        queueMicrotask(() => {
          throw err
        })
      }
    }
  }
}
