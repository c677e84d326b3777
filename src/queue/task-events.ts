import type { EventHandler } from 'main-event'
import type { Task } from './types.js'

type TaskHandler = EventHandler<CustomEvent<Task>>

interface Entry {
  readonly listener: TaskHandler
  readonly capture: boolean
  readonly once: boolean
  readonly signal?: AbortSignal
  readonly onAbort?: () => void
  /** Set on removal: a dispatch under way skips it (as an EventTarget does). */
  removed: boolean
}

/**
 * The listeners of the queue's `task` event, called directly rather than
 * through the EventTarget: one event per change of a task (three or more per
 * task), and the EventTarget's dispatch (its event path, the wrapper
 * main-event registers per listener) cost more than the listeners did.
 * What a listener sees is the same: a `CustomEvent` whose `detail` is the
 * task, listeners in the order they were added, `once`, `signal`,
 * `handleEvent` objects, a second add of the same listener ignored, a
 * listener removed during a dispatch not called by it, and an exception of
 * a listener reported as uncaught (on the next tick) without stopping the
 * others. Unlike an EventTarget's, the event has no `target`.
 */
export class TaskListeners {
  /** Replaced, not changed, on add and remove: a dispatch walks the list as it was when it began. */
  #entries: readonly Entry[] = []

  get size(): number {
    return this.#entries.length
  }

  add(listener: TaskHandler, options?: boolean | AddEventListenerOptions): void {
    const capture = captureOf(options)
    const once = typeof options === 'object' && options.once === true
    const signal = typeof options === 'object' ? options.signal : undefined
    if (signal?.aborted === true) return
    if (this.#entries.some((entry) => entry.listener === listener && entry.capture === capture)) return
    const onAbort = signal == null ? undefined : (): void => this.remove(listener, capture)
    signal?.addEventListener('abort', onAbort!, { once: true })
    this.#entries = [...this.#entries, { listener, capture, once, signal, onAbort, removed: false }]
  }

  remove(listener: TaskHandler | null | undefined, options?: boolean | EventListenerOptions): void {
    const capture = captureOf(options)
    const index = this.#entries.findIndex((entry) => entry.listener === listener && entry.capture === capture)
    if (index < 0) return
    const entry = this.#entries[index]!
    entry.removed = true
    if (entry.onAbort != null) entry.signal?.removeEventListener('abort', entry.onAbort)
    this.#entries = this.#entries.filter((_, i) => i !== index)
  }

  /** Calls every listener with one `task` event carrying `task` (made only when there is a listener). */
  emit(task: () => Task): void {
    const entries = this.#entries
    if (entries.length === 0) return
    const event = new CustomEvent('task', { detail: task() })
    for (const entry of entries) {
      if (entry.removed) continue
      if (entry.once) this.remove(entry.listener, entry.capture)
      try {
        const { listener } = entry
        if (typeof listener === 'function') listener(event)
        else listener.handleEvent(event)
      } catch (err) {
        process.nextTick(() => {
          throw err
        })
      }
    }
  }
}

function captureOf(options: boolean | EventListenerOptions | undefined): boolean {
  return typeof options === 'boolean' ? options : options?.capture === true
}
