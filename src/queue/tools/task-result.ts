import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import { FINAL_STATES } from '../types.js'
import type { TaskQueueService } from '../service.js'
import { guard, queueToolMeta, taskIdSchema, taskStateSchema } from './schemas.js'

export function createTaskResultTool(queue: TaskQueueService): Tool {
  return defineTool({
    name: 'task_result',
    title: 'Task result',
    description: `Returns a task's result; with wait, long-polls until it finishes or waitMs passes (then finished is false).
Examples: {"id": "3f2c…"}  {"id": "3f2c…", "wait": true, "waitMs": 30000}`,
    inputSchema: z.object({
      id: taskIdSchema,
      wait: z.boolean().default(false),
      waitMs: z.number().int().min(1).max(3_600_000).default(60_000)
    }),
    outputSchema: z.object({
      id: z.string(),
      state: taskStateSchema,
      finished: z.boolean(),
      result: z.unknown().optional(),
      error: z.string().optional(),
      attempts: z.number().int()
    }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: queueToolMeta({ timeoutMs: 3_700_000 }),
    handler: async ({ id, wait, waitMs }, { signal }) =>
      guard(async () => {
        let task = queue.require(id)
        if (wait && !FINAL_STATES.has(task.state)) {
          task = await queue.waitFor(id, { signal, timeoutMs: waitMs }).catch((err: unknown) => {
            if ((err as Error).name === 'WaitTimeoutError') return queue.require(id)
            throw err
          })
        }
        return JSON.parse(
          JSON.stringify({
            id,
            state: task.state,
            finished: FINAL_STATES.has(task.state),
            result: task.result,
            error: task.error,
            attempts: task.attempts
          })
        ) as { id: string; state: typeof task.state; finished: boolean; attempts: number }
      })
  })
}
