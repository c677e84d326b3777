import { ChurnMap } from '../../util/churn-map.js'
import { WaitTimeoutError } from '../errors.js'
import type { Task } from '../types.js'

export interface WaitOptions {
  signal?: AbortSignal
  timeoutMs?: number
}

/**
 * One caller of waitFor: one object (and one abort closure, when the wait
 * has a signal) per wait; it is its timer's argument, where closures would
 * make more objects per task (`task_submit` with `wait` waits for every
 * task it submits).
 */
class Waiter {
  readonly #book: TaskWaiters
  readonly id: string
  readonly #resolve: (task: Task) => void
  readonly #reject: (err: unknown) => void
  readonly #options: WaitOptions
  #timer?: NodeJS.Timeout

  constructor(book: TaskWaiters, id: string, options: WaitOptions, settle: PromiseWithResolvers<Task>) {
    this.#book = book
    this.id = id
    this.#options = options
    this.#resolve = settle.resolve
    this.#reject = settle.reject
    if (options.timeoutMs != null) this.#timer = setTimeout(timedOut, options.timeoutMs, this)
    options.signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  finished(task: Task): void {
    this.#end()
    this.#resolve(task)
  }

  timedOut(): void {
    this.#end()
    this.#reject(new WaitTimeoutError(`task ${this.id} did not finish within ${this.#options.timeoutMs} ms`))
  }

  /**
   * The signal's abort listener: a function, not this object with a
   * `handleEvent` (Node's EventTarget kept such listener objects reachable,
   * promoting them and what they hold: src/util/deadline.ts).
   */
  readonly #onAbort = (): void => {
    this.#end()
    this.#reject(this.#options.signal?.reason ?? new Error('aborted'))
  }

  #end(): void {
    clearTimeout(this.#timer)
    this.#book.forget(this)
    this.#options.signal?.removeEventListener('abort', this.#onAbort)
  }
}

function timedOut(waiter: Waiter): void {
  waiter.timedOut()
}

/** waitFor's callers by task id: a change wakes only the waiters of its task (usually one). */
export class TaskWaiters {
  readonly #byTask = new ChurnMap<string, Waiter | Waiter[]>()

  /** Resolves with the view `wake` gives for task `id`; rejects on timeout (WaitTimeoutError) or abort. */
  wait(id: string, options: WaitOptions): Promise<Task> {
    const settle = Promise.withResolvers<Task>()
    const waiter = new Waiter(this, id, options, settle)
    const waiting = this.#byTask.get(id)
    if (waiting == null) this.#byTask.set(id, waiter)
    else if (Array.isArray(waiting)) waiting.push(waiter)
    else this.#byTask.set(id, [waiting, waiter])
    return settle.promise
  }

  /** Resolves every waiter of task `id` with `view()` (made once, shared), if any waits. */
  wake(id: string, view: () => Task): void {
    const waiting = this.#byTask.get(id)
    if (waiting == null) return
    const task = view()
    if (!Array.isArray(waiting)) waiting.finished(task)
    else for (const waiter of [...waiting]) waiter.finished(task)
  }

  forget(waiter: Waiter): void {
    const waiting = this.#byTask.get(waiter.id)
    if (waiting === waiter) this.#byTask.delete(waiter.id)
    else if (Array.isArray(waiting)) {
      const rest = waiting.filter((other) => other !== waiter)
      if (rest.length === 0) this.#byTask.delete(waiter.id)
      else this.#byTask.set(waiter.id, rest.length === 1 ? rest[0]! : rest)
    }
  }
}
