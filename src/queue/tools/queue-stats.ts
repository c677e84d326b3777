import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { TaskQueueService } from '../service.js'
import { queueToolMeta } from './schemas.js'

const count = z.number().int()

export function createQueueStatsTool(queue: TaskQueueService): Tool {
  return defineTool({
    name: 'queue_stats',
    title: 'Queue statistics',
    description:
      'Counts of tasks by state, completions per second over the last minute, mean wait (queued to started) and run times. Example: {}',
    inputSchema: z.object({}),
    outputSchema: z.object({
      paused: z.boolean(),
      counts: z.object({
        queued: count,
        running: count,
        succeeded: count,
        failed: count,
        cancelled: count,
        dead: count
      }),
      total: count,
      throughputPerSec: z.number(),
      meanWaitMs: z.number(),
      meanRunMs: z.number(),
      completed: count,
      journal: z.object({ writes: count, batches: count })
    }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: queueToolMeta(),
    handler: async () => queue.stats()
  })
}
