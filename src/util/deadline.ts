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

export function deadline(parent: AbortSignal, ms: number, reason?: () => unknown, options?: DeadlineOptions): Deadline {
  const controller = new AbortController()
  let expired = false
  const keepRunning = options?.keepRunning
  const onParentAbort = (): void => {
    const parentReason: unknown = parent.reason
    if (keepRunning?.(parentReason) !== true) controller.abort(parentReason)
  }
  const timer = setTimeout(() => {
    expired = true
    // The default reason is built only when the time runs out (no closure per deadline).
    controller.abort(reason != null ? reason() : new Error(`timed out after ${ms} ms`))
  }, ms)
  if (options?.unref === true) timer.unref()
  if (parent.aborted) onParentAbort()
  else parent.addEventListener('abort', onParentAbort, { once: true })
  return {
    signal: controller.signal,
    controller,
    get expired(): boolean {
      return expired
    },
    abort(abortReason: unknown): void {
      controller.abort(abortReason)
    },
    dispose(): void {
      clearTimeout(timer)
      parent.removeEventListener('abort', onParentAbort)
    }
  }
}
