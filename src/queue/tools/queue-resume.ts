import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { TaskQueueService } from '../service.js'
import { queueToolMeta } from './schemas.js'

export function createQueueResumeTool(queue: TaskQueueService): Tool {
  return defineTool({
    name: 'queue_resume',
    title: 'Resume the queue',
    description: 'Restarts dispatching after queue_pause. Example: {}',
    inputSchema: z.object({}),
    outputSchema: z.object({ paused: z.boolean() }),
    annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: false },
    meta: queueToolMeta(),
    handler: async () => {
      await queue.resume()
      return { paused: false }
    }
  })
}
