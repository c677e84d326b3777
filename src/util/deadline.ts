/**
 * A signal that aborts when `parent` aborts or after `ms`, whichever comes
 * first. Unlike `AbortSignal.any([parent, AbortSignal.timeout(ms)])`, its
 * timer and listener are released by `dispose()`, so a hot path does not
 * leave one live timer per call behind it for the whole timeout.
 */
export interface Deadline {
  readonly signal: AbortSignal
  /** The controller of `signal`, for a callee that aborts it itself (the router's `RouteOptions.controller`). */
  readonly controller: AbortController
  /** True when the time ran out (rather than the parent aborting). */
  readonly expired: boolean
  /** Aborts the signal now with `reason` (a no-op once it has aborted). */
  abort(reason: unknown): void
  dispose(): void
}

export interface DeadlineOptions {
  /** A parent abort for which the signal stays live (true): it is not passed on. */
  keepRunning?: (reason: unknown) => boolean
  /** The timer does not keep the process alive. */
  unref?: boolean
}

export function deadline(
  parent: AbortSignal,
  ms: number,
  reason?: () => unknown,
  options: DeadlineOptions = {}
): Deadline {
  return new TimedDeadline(parent, ms, reason, options)
}

/**
 * A deadline on `controller`, made for this call alone (a front's input
 * round): the controller itself aborts after `ms` (with `reason()`, or a
 * "timed out" error), with no controller of its own and no listener on a
 * parent: what `deadline(controller.signal, ms, reason)` does, one
 * controller and one listener less per call. `abort` aborts `controller`.
 */
export function deadlineOn(controller: AbortController, ms: number, reason?: () => unknown): Deadline {
  return new ControllerDeadline(controller, ms, reason)
}

/**
 * The deadline of a call whose signal is `signal`: on `controller` itself
 * when it is that signal's own, made for this call alone (deadlineOn: no
 * controller chained, no listener), else a controller chained to `signal`
 * (deadline). What the router hands on as `RouteOptions.controller`.
 */
export function callDeadline(signal: AbortSignal, ms: number, controller?: AbortController): Deadline {
  return controller != null && controller.signal === signal ? deadlineOn(controller, ms) : deadline(signal, ms)
}

/**
 * deadlineOn's deadline, and the base of deadline()'s. A class, not an
 * object literal with a `get expired()` (a new getter closure per call; V8
 * makes such a literal a dictionary-mode object). With the literal, every
 * disposed call stayed reachable from the old generation (the getter's
 * closure holds the caller's controller, signal, listeners, request), so
 * each young-generation collection copied and promoted all calls made since
 * the previous one, until a full collection. Measured on a node serving
 * sequential peer tools/call: 2.0 MB promoted per scavenge instead of
 * 0.2 MB, and about a third of the process's CPU collecting;
 * test/util/deadline.spec.ts checks it. The timer calls a static method
 * with the deadline as its argument (no closure for it).
 */
class ControllerDeadline implements Deadline {
  readonly controller: AbortController
  readonly #ms: number
  readonly #reason: (() => unknown) | undefined
  readonly #timer: NodeJS.Timeout
  #expired = false

  constructor(controller: AbortController, ms: number, reason: (() => unknown) | undefined, unref = false) {
    this.controller = controller
    this.#ms = ms
    this.#reason = reason
    this.#timer = setTimeout(ControllerDeadline.#expire, ms, this)
    if (unref) this.#timer.unref()
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  get expired(): boolean {
    return this.#expired
  }

  abort(reason: unknown): void {
    this.controller.abort(reason)
  }

  dispose(): void {
    clearTimeout(this.#timer)
  }

  static #expire(this: void, deadline: ControllerDeadline): void {
    deadline.#expired = true
    if (deadline.controller.signal.aborted) return
    deadline.controller.abort(
      deadline.#reason != null ? deadline.#reason() : new Error(`timed out after ${deadline.#ms} ms`)
    )
  }
}

/**
 * deadline()'s: a controller of its own, aborted by the timer or by the
 * parent. The parent's listener is a function, not the deadline as an
 * object with `handleEvent`: Node's EventTarget kept such a listener
 * reachable the same way as the getter above (measured: 1.7 MB promoted per
 * scavenge).
 */
class TimedDeadline extends ControllerDeadline {
  readonly #parent: AbortSignal
  readonly #keepRunning: ((reason: unknown) => boolean) | undefined
  readonly #onParentAbort = (): void => {
    const parentReason: unknown = this.#parent.reason
    if (this.#keepRunning?.(parentReason) !== true) this.controller.abort(parentReason)
  }

  constructor(parent: AbortSignal, ms: number, reason: (() => unknown) | undefined, options: DeadlineOptions) {
    super(new AbortController(), ms, reason, options.unref === true)
    this.#parent = parent
    this.#keepRunning = options.keepRunning
    if (parent.aborted) this.#onParentAbort()
    else parent.addEventListener('abort', this.#onParentAbort, { once: true })
  }

  override dispose(): void {
    super.dispose()
    this.#parent.removeEventListener('abort', this.#onParentAbort)
  }
}
