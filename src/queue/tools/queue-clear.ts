import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { TaskQueueService } from '../service.js'
import { guard, queueToolMeta, taskStateSchema } from './schemas.js'

export function createQueueClearTool(queue: TaskQueueService): Tool {
  return defineTool({
    name: 'queue_clear',
    title: 'Clear tasks',
    description:
      'Deletes tasks in the given states from the journal for good (running tasks are never cleared: cancel them first). Requires confirm: true. Example: {"states": ["succeeded", "dead"], "confirm": true}',
    inputSchema: z.object({
      states: z.array(taskStateSchema.exclude(['running'])).min(1),
      confirm: z.boolean().default(false).describe('Must be true')
    }),
    outputSchema: z.object({ removed: z.number().int() }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    meta: queueToolMeta(),
    handler: async ({ states, confirm }) => guard(async () => ({ removed: await queue.clear(states, confirm) }))
  })
}
