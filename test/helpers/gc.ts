import { GCProfiler, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** Bytes young-generation collections moved to the old generation while `fn` ran, and how many ran. */
export function promotedBy(fn: () => void): { bytes: number; scavenges: number } {
  const profiler = new GCProfiler()
  profiler.start()
  fn()
  const { statistics } = profiler.stop()
  let bytes = 0
  let scavenges = 0
  for (const gc of statistics) {
    if (gc.gcType !== 'Scavenge') continue
    scavenges++
    const old = (stats: typeof gc.beforeGC): number =>
      stats.heapSpaceStatistics.find((space) => space.spaceName === 'old_space')?.spaceUsedSize ?? 0
    bytes += old(gc.afterGC) - old(gc.beforeGC)
  }
  return { bytes, scavenges }
}

/**
 * A full garbage collection (V8's `gc`, exposed on first use), after the
 * current job: a WeakRef's target made in this microtask run is kept alive
 * until the run ends, so the collection waits for the next macrotask.
 */
export async function fullGc(): Promise<void> {
  setFlagsFromString('--expose-gc')
  await new Promise<void>((resolve) => setImmediate(resolve))
  ;(runInNewContext('gc') as () => void)()
}
