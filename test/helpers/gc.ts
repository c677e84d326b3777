import { GCProfiler } from 'node:v8'

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
