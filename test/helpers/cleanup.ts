import { UNHANDLED_REJECTION_NOTICE } from '../../src/util/errors.js'

/**
 * Everything a helper starts (processes, clients, temp homes) is tracked here
 * and torn down by `cleanup()`, newest first. Use it in every spec that
 * spawns something:
 *
 * @example
 * afterEach(cleanup)
 */

type Disposer = () => Promise<void> | void

const disposers: Array<{ label: string; dispose: Disposer }> = []
const livePids = new Set<number>()

/** Registers a teardown step; returns a function that runs it early (and only once). */
export function track(label: string, dispose: Disposer): () => Promise<void> {
  let done = false
  const entry = {
    label,
    dispose: async (): Promise<void> => {
      if (done) return
      done = true
      await dispose()
    }
  }
  disposers.push(entry)
  return async () => {
    const index = disposers.indexOf(entry)
    if (index >= 0) disposers.splice(index, 1)
    await entry.dispose()
  }
}

/**
 * Fails the test when a node reported a promise rejection nobody handled: the
 * node survives it (src/cli/commands/start.ts), so nothing else would notice.
 */
export function assertNoUnhandledRejection(label: string, stderr: string): void {
  const at = stderr.indexOf(UNHANDLED_REJECTION_NOTICE)
  if (at >= 0) throw new Error(`${label} reported an ${stderr.slice(at, at + 2_000)}`)
}

/** Remembers a child process so a crashing test worker still kills it on exit. */
export function trackPid(pid: number | undefined): void {
  if (pid != null) livePids.add(pid)
}

export function untrackPid(pid: number | undefined): void {
  if (pid != null) livePids.delete(pid)
}

/** Tears down everything tracked so far, newest first. Errors are collected and rethrown together. */
export async function cleanup(): Promise<void> {
  const errors: unknown[] = []
  while (disposers.length > 0) {
    const entry = disposers.pop()!
    try {
      await entry.dispose()
    } catch (err) {
      errors.push(new Error(`cleanup of ${entry.label} failed: ${(err as Error).message}`, { cause: err }))
    }
  }
  if (errors.length === 1) throw errors[0]
  if (errors.length > 1) throw new AggregateError(errors, 'cleanup failed')
}

process.on('exit', () => {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
})
