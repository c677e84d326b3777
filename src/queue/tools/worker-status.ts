import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { TaskQueueService } from '../service.js'
import { queueToolMeta } from './schemas.js'
import { registrationSchema } from './worker-register.js'

export function createWorkerStatusTool(queue: TaskQueueService): Tool {
  return defineTool({
    name: 'worker_status',
    title: 'Worker status',
    description:
      'This node as a worker: registration, running/done/failed counts and the tasks it runs now. Example: {}',
    inputSchema: z.object({}),
    outputSchema: z.object({
      registered: z.boolean(),
      accepting: z.boolean(),
      registration: registrationSchema.optional(),
      running: z.number().int(),
      done: z.number().int(),
      failed: z.number().int(),
      current: z.array(z.object({ id: z.string(), tool: z.string(), owner: z.string(), runningMs: z.number() }))
    }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: queueToolMeta(),
    handler: async () => JSON.parse(JSON.stringify(queue.worker.status())) as ReturnType<typeof queue.worker.status>
  })
}
