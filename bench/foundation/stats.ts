/** Summary of a sample of durations (all in the unit the samples are in). */
export interface Summary {
  n: number
  p50: number
  p99: number
  mean: number
  min: number
  max: number
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('no samples')
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return {
    n: sorted.length,
    p50: at(0.5),
    p99: at(0.99),
    mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length,
    min: sorted[0]!,
    max: sorted.at(-1)!
  }
}

/** Reads a positive integer from the environment (bench sizing). */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw == null || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`)
  return value
}

/** Formats a number with up to `digits` decimals, without trailing zeros. */
export function fmt(value: number, digits = 3): string {
  return Number(value.toFixed(digits)).toString()
}

/** Runs `fn` sequentially `n` times, returning each call's latency in ms. */
export async function timeSequential(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const started = performance.now()
    await fn(i)
    samples.push(performance.now() - started)
  }
  return samples
}

export interface ConcurrentRun {
  latencies: number[]
  elapsedMs: number
  callsPerSecond: number
}

/** Runs `total` calls with `concurrency` in flight; per-call latency (ms) and throughput. */
export async function timeConcurrent(
  total: number,
  concurrency: number,
  fn: (i: number) => Promise<unknown>
): Promise<ConcurrentRun> {
  const latencies: number[] = []
  let next = 0
  const started = performance.now()
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++
      const t0 = performance.now()
      await fn(i)
      latencies.push(performance.now() - t0)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const elapsedMs = performance.now() - started
  return { latencies, elapsedMs, callsPerSecond: (total / elapsedMs) * 1000 }
}
