import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { TaskQueueService } from '../service.js'
import { queueToolMeta } from './schemas.js'

export function createQueuePauseTool(queue: TaskQueueService): Tool {
  return defineTool({
    name: 'queue_pause',
    title: 'Pause the queue',
    description:
      'Stops dispatching queued tasks; running tasks finish. Survives restarts until queue_resume. Example: {}',
    inputSchema: z.object({}),
    outputSchema: z.object({ paused: z.boolean() }),
    annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: false },
    meta: queueToolMeta(),
    handler: async () => {
      await queue.pause()
      return { paused: true }
    }
  })
}
