import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { TaskQueueService } from '../service.js'
import { guard, prioritySchema, queueToolMeta, taskOutput, taskSchema, taskStateSchema } from './schemas.js'

export function createTaskListTool(queue: TaskQueueService): Tool {
  return defineTool({
    name: 'task_list',
    title: 'List tasks',
    description: `Lists this node's tasks in submission order, filtered and paginated (pass nextCursor back as cursor).
Examples: {"state": "dead"}  {"state": ["queued", "running"], "tool": "render", "limit": 100}  {"worker": "12D3KooW…", "priority": 10}`,
    inputSchema: z.object({
      state: z.union([taskStateSchema, z.array(taskStateSchema).min(1)]).optional(),
      tool: z.string().max(128).optional(),
      tag: z.string().max(64).optional(),
      worker: z.string().max(128).optional().describe('Peer ID of the worker'),
      priority: prioritySchema.optional(),
      labels: z.record(z.string(), z.string()).optional(),
      cursor: z.string().regex(/^\d+$/).optional(),
      limit: z.number().int().min(1).max(500).default(50),
      includeArgs: z.boolean().default(false).describe('Include args and results (larger output)')
    }),
    outputSchema: z.object({ tasks: z.array(taskSchema), nextCursor: z.string().optional(), total: z.number().int() }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: queueToolMeta(),
    handler: async ({ cursor, limit, includeArgs, ...filter }) =>
      guard(() => {
        const page = queue.list(filter, { cursor, limit })
        const tasks = page.tasks.map((task) =>
          taskOutput(includeArgs ? task : { ...task, args: {}, result: undefined })
        )
        return page.nextCursor != null
          ? { tasks, nextCursor: page.nextCursor, total: page.total }
          : { tasks, total: page.total }
      })
  })
}
