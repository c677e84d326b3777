import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { TaskQueueService } from '../service.js'
import { guard, prioritySchema, queueToolMeta, taskIdSchema, taskOutput, taskSchema } from './schemas.js'

export function createTaskPriorityTool(queue: TaskQueueService): Tool {
  return defineTool({
    name: 'task_priority',
    title: 'Change task priority',
    description: 'Changes the priority of a queued task (0-10, 10 first). Example: {"id": "3f2c…", "priority": 10}',
    inputSchema: z.object({ id: taskIdSchema, priority: prioritySchema }),
    outputSchema: z.object({ task: taskSchema }),
    annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: false },
    meta: queueToolMeta(),
    handler: async ({ id, priority }) =>
      guard(async () => ({ task: taskOutput(await queue.setPriority(id, priority)) }))
  })
}
