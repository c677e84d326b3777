import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { TaskQueueService } from '../service.js'
import { guard, queueToolMeta } from './schemas.js'

export const registrationSchema = z.object({
  tools: z.array(z.string()).optional(),
  tags: z.array(z.string()),
  maxConcurrency: z.number().int(),
  limits: z.object({ cpu: z.number().optional(), memoryMb: z.number().optional() }),
  explicit: z.boolean(),
  registeredAt: z.number()
})

export function createWorkerRegisterTool(queue: TaskQueueService): Tool {
  return defineTool({
    name: 'worker_register',
    title: 'Register as a worker',
    description: `Declares this node a worker: which tools it takes tasks for (default: every exported tool), capability tags it advertises, how many tasks it runs at once, and resource limits. Peers see it in the catalog.
Examples: {"maxConcurrency": 4}  {"tools": ["render"], "tags": ["gpu"], "maxConcurrency": 2, "limits": {"memoryMb": 8192}}`,
    inputSchema: z.object({
      tools: z.array(z.string().min(1).max(128)).max(1024).optional(),
      tags: z.array(z.string().min(1).max(64)).max(32).default([]),
      maxConcurrency: z.number().int().min(1).max(4096),
      limits: z
        .object({ cpu: z.number().positive().max(1024).optional(), memoryMb: z.number().int().positive().optional() })
        .strict()
        .default({})
    }),
    outputSchema: z.object({ registration: registrationSchema }),
    annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: false },
    meta: queueToolMeta(),
    handler: async (input) =>
      guard(() => {
        const missing = (input.tools ?? []).filter((name) => !queue.hasLocalTool(name))
        if (missing.length > 0) throw new RangeError(`not tools of this node: ${missing.join(', ')}`)
        return { registration: queue.worker.register(input) }
      })
  })
}
