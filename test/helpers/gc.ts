import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { GCProfiler, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { FIXTURES_DIR } from './paths.js'

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

/**
 * Bytes promoted per step by each of `scenarios` (test/fixtures/churn-promotion.mjs),
 * measured in a child process with a small young generation and no allocation-site
 * pretenuring, so that the figures do not depend on this runner's heap.
 */
export function promotionInChild(...scenarios: string[]): Record<string, number> {
  const out = execFileSync(
    process.execPath,
    [
      '--max-semi-space-size=1',
      '--no-allocation-site-pretenuring',
      '--experimental-strip-types',
      '--no-warnings',
      join(FIXTURES_DIR, 'churn-promotion.mjs'),
      ...scenarios
    ],
    { encoding: 'utf8', timeout: 60_000 }
  )
  return JSON.parse(out) as Record<string, number>
}
