import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { TaskQueueService } from '../service.js'
import { guard, queueToolMeta, taskIdSchema, taskOutput, taskSchema } from './schemas.js'

export function createTaskCancelTool(queue: TaskQueueService): Tool {
  return defineTool({
    name: 'task_cancel',
    title: 'Cancel a task',
    description:
      'Cancels a queued task (it never runs) or a running one (its handler is aborted on the worker, wherever it runs). A finished task cannot be cancelled. Example: {"id": "3f2c…", "reason": "no longer needed"}',
    inputSchema: z.object({ id: taskIdSchema, reason: z.string().max(500).optional() }),
    outputSchema: z.object({ task: taskSchema }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    meta: queueToolMeta(),
    handler: async ({ id, reason }) => guard(async () => ({ task: taskOutput(await queue.cancel(id, reason)) }))
  })
}
