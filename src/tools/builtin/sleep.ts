import { z } from 'zod'
import { defineTool } from '../define.js'
import type { Tool } from '../types.js'

/** Progress is reported this often, so long sleeps show life and cancellation is exercised. */
const TICK_MS = 100

export function createSleepTool(): Tool {
  return defineTool({
    name: 'sleep',
    title: 'Sleep',
    description:
      'Waits for durationMs, reporting progress about every 100 ms, and stops early when the call is cancelled. Used to test cancellation, timeouts and progress across the mesh.',
    inputSchema: z.object({
      durationMs: z.number().int().min(0).max(600_000).describe('How long to wait, in milliseconds')
    }),
    outputSchema: z.object({ sleptMs: z.number().int().min(0) }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: {
      runtime: 'auto',
      category: 'demo',
      priority: 3,
      timeoutMs: 660_000,
      retry: { policy: 'none', maxAttempts: 1, baseDelayMs: 0, retryOnToolError: false },
      tags: ['demo', 'slow'],
      hints: { cpu: 'low', memory: 'low', io: 'low' },
      export: true
    },
    handler: async ({ durationMs }, { signal, reportProgress }) => {
      const started = Date.now()
      await new Promise<void>((resolve, reject) => {
        const finish = (): void => {
          clearInterval(ticker)
          clearTimeout(timer)
          signal.removeEventListener('abort', onAbort)
        }
        const onAbort = (): void => {
          finish()
          reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'))
        }
        const ticker = setInterval(() => {
          reportProgress({
            progress: Math.min(Date.now() - started, durationMs),
            total: durationMs,
            message: 'sleeping'
          })
        }, TICK_MS)
        const timer = setTimeout(() => {
          finish()
          resolve()
        }, durationMs)
        if (signal.aborted) onAbort()
        else signal.addEventListener('abort', onAbort, { once: true })
      })
      reportProgress({ progress: durationMs, total: durationMs, message: 'done' })
      return { sleptMs: Date.now() - started }
    }
  })
}
