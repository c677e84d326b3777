import { describe, expect, it } from 'vitest'
import { THROUGHPUT_WINDOW_MS } from '../../../src/queue/constants.js'
import { QueueMetrics } from '../../../src/queue/owner/stats.js'

describe('QueueMetrics', () => {
  it('keeps only the completions of the throughput window, without snapshots', () => {
    const metrics = new QueueMetrics()
    const start = Date.now() - 3 * THROUGHPUT_WINDOW_MS
    // One completion per 10 ms over three windows; nobody asks for a snapshot.
    const step = 10
    for (let at = start; at <= start + 3 * THROUGHPUT_WINDOW_MS; at += step) metrics.finished(at)
    expect(metrics.windowed).toBeLessThanOrEqual(THROUGHPUT_WINDOW_MS / step + 1)
    // What a snapshot reports is unchanged: the completions of the last window.
    const stats = metrics.snapshot([], false, undefined)
    expect(stats.throughputPerSec).toBeGreaterThan(0)
  })
})
