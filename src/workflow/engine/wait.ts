import { WorkflowWaitTimeoutError } from '../errors.js'
import type { WorkflowRun } from '../run/run.js'
import type { WorkflowStatus } from '../types.js'
import type { WaitOptions } from './options.js'

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted')
}

/**
 * Resolves with a live run's status once it is final, forwarding its events
 * to `onEvent` meanwhile (the current progress first). A timeout rejects
 * with WorkflowWaitTimeoutError, an abort with the signal's reason; the
 * workflow keeps running either way.
 */
export async function waitForRun(run: WorkflowRun, options: WaitOptions): Promise<WorkflowStatus> {
  const unsubscribe = options.onEvent != null ? run.subscribe(options.onEvent) : undefined
  if (options.onEvent != null) {
    const progress = run.progress()
    options.onEvent({ workflowId: run.id, state: run.state, progress, final: false })
  }
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  try {
    await Promise.race([
      run.done,
      new Promise<never>((_, reject) => {
        if (options.timeoutMs != null) {
          const timeoutMs = options.timeoutMs
          timer = setTimeout(() => reject(new WorkflowWaitTimeoutError(run.id, timeoutMs)), timeoutMs)
        }
        if (options.signal != null) {
          const signal = options.signal
          onAbort = () => reject(abortError(signal))
          signal.addEventListener('abort', onAbort, { once: true })
        }
      })
    ])
  } finally {
    clearTimeout(timer)
    if (onAbort != null) options.signal?.removeEventListener('abort', onAbort)
    unsubscribe?.()
  }
  return run.status()
}
