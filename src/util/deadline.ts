/**
 * A signal that aborts when `parent` aborts or after `ms`, whichever comes
 * first. Unlike `AbortSignal.any([parent, AbortSignal.timeout(ms)])`, its
 * timer and listener are released by `dispose()`, so a hot path does not
 * leave one live timer per call behind it for the whole timeout.
 */
export interface Deadline {
  readonly signal: AbortSignal
  /** True when the time ran out (rather than the parent aborting). */
  readonly expired: boolean
  dispose(): void
}

export function deadline(
  parent: AbortSignal,
  ms: number,
  reason: () => unknown = () => new Error(`timed out after ${ms} ms`)
): Deadline {
  const controller = new AbortController()
  let expired = false
  const onParentAbort = (): void => controller.abort(parent.reason)
  const timer = setTimeout(() => {
    expired = true
    controller.abort(reason())
  }, ms)
  if (parent.aborted) onParentAbort()
  else parent.addEventListener('abort', onParentAbort, { once: true })
  return {
    signal: controller.signal,
    get expired(): boolean {
      return expired
    },
    dispose(): void {
      clearTimeout(timer)
      parent.removeEventListener('abort', onParentAbort)
    }
  }
}
