import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { TaskQueueService } from '../service.js'
import { guard, queueToolMeta, taskIdSchema, taskOutput, taskSchema } from './schemas.js'

export function createTaskRetryTool(queue: TaskQueueService): Tool {
  return defineTool({
    name: 'task_retry',
    title: 'Retry a task',
    description:
      'Re-runs a failed, dead or cancelled task as a new attempt (its history is kept). Example: {"id": "3f2c…"}',
    inputSchema: z.object({ id: taskIdSchema }),
    outputSchema: z.object({ task: taskSchema }),
    annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: true },
    meta: queueToolMeta(),
    handler: async ({ id }) => guard(async () => ({ task: taskOutput(await queue.retry(id)) }))
  })
}
