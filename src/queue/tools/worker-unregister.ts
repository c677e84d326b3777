import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { TaskQueueService } from '../service.js'
import { queueToolMeta } from './schemas.js'

export function createWorkerUnregisterTool(queue: TaskQueueService): Tool {
  return defineTool({
    name: 'worker_unregister',
    title: 'Stop being a worker',
    description:
      'Stops taking tasks. drain: wait up to timeoutMs for running tasks to finish, then abandon the rest; abandon: abort running tasks now so their owners requeue them elsewhere. Examples: {"mode": "drain", "timeoutMs": 30000}  {"mode": "abandon"}',
    inputSchema: z.object({
      mode: z.enum(['drain', 'abandon']).default('drain'),
      timeoutMs: z.number().int().min(0).max(3_600_000).default(30_000)
    }),
    outputSchema: z.object({ drained: z.number().int(), abandoned: z.number().int() }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    meta: queueToolMeta({ timeoutMs: 3_660_000 }),
    handler: async ({ mode, timeoutMs }) => queue.worker.unregister(mode, timeoutMs)
  })
}
