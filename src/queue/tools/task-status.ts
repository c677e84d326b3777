import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { TaskQueueService } from '../service.js'
import { guard, queueToolMeta, taskIdSchema, taskOutput, taskSchema } from './schemas.js'

export function createTaskStatusTool(queue: TaskQueueService): Tool {
  return defineTool({
    name: 'task_status',
    title: 'Task status',
    description: 'Shows one task: state, attempts with their workers and errors, timings. Example: {"id": "3f2c…"}',
    inputSchema: z.object({ id: taskIdSchema }),
    outputSchema: z.object({ task: taskSchema }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: queueToolMeta(),
    handler: async ({ id }) => guard(() => ({ task: taskOutput(queue.require(id)) }))
  })
}
