import { z } from 'zod'
import { defineTool, structuredResult } from '../../tools/define.js'
import type { JsonObject, Tool } from '../../tools/types.js'
import type { TaskQueueService } from '../service.js'
import {
  placementSchema,
  prioritySchema,
  queueErrorResult,
  queueToolMeta,
  retryOverrideSchema,
  taskRecord,
  taskSchema
} from './schemas.js'

export function createTaskSubmitTool(queue: TaskQueueService): Tool {
  return defineTool({
    name: 'task_submit',
    title: 'Submit a task',
    description: `Queues a tool call as a durable task, run on whichever peer (or this node) offers the tool. The task is journaled before this returns.
Examples:
  {"tool": "sha256", "args": {"data": "hello"}}
  {"tool": "render", "args": {"page": 3}, "priority": 9, "idempotencyKey": "render-3", "retry": {"policy": "exponential", "maxAttempts": 5, "baseDelayMs": 500}}
  {"tool": "report", "delayMs": 60000, "placement": {"tags": ["gpu"]}, "failIfNoWorker": true}
  {"tool": "sha256", "args": {"data": "x"}, "wait": true}   (replies with the finished task)`,
    inputSchema: z.object({
      tool: z.string().min(1).max(128).describe('Tool to run'),
      args: z.record(z.string(), z.unknown()).default({}).describe('Tool arguments'),
      priority: prioritySchema.optional(),
      tags: z.array(z.string().min(1).max(64)).max(32).optional().describe('Labels for task_list filtering'),
      idempotencyKey: z.string().min(1).max(256).optional().describe('Same key + same args returns the existing task'),
      retry: retryOverrideSchema.optional().describe("Overrides the tool's retry policy"),
      timeoutMs: z.number().int().positive().max(86_400_000).optional().describe("Overrides the tool's timeout"),
      runAt: z.number().int().nonnegative().optional().describe('Epoch ms before which the task does not run'),
      delayMs: z.number().int().nonnegative().max(31_536_000_000).optional().describe('Run after this delay'),
      placement: placementSchema.optional(),
      failIfNoWorker: z.boolean().default(false).describe('Fail now instead of waiting when no worker offers the tool'),
      labels: z.record(z.string(), z.string()).optional(),
      wait: z.boolean().default(false).describe('Reply only when the task has finished (or waitMs passed)'),
      waitMs: z.number().int().min(1).max(3_600_000).default(60_000)
    }),
    outputSchema: z.object({ task: taskSchema, created: z.boolean() }),
    annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: true },
    meta: queueToolMeta({ priority: 8, timeoutMs: 3_700_000 }),
    // guard()'s behaviour inline (queue errors become tool errors): two promises fewer per task on the hot path.
    // The parsed arguments are the submission (submit reads its own fields; no copy without wait and waitMs).
    handler: async (input, { signal }) => {
      const { wait, waitMs } = input
      try {
        const submitted = await queue.submit(input)
        let { task } = submitted
        if (wait) {
          try {
            task = await queue.waitFor(task.id, { signal, timeoutMs: waitMs })
          } catch (err) {
            if ((err as Error).name !== 'WaitTimeoutError') throw err
            task = queue.require(task.id)
          }
        }
        // Built here from our own task: the output schema's check (a schema walk per task) is skipped.
        return structuredResult({ task: taskRecord(task), created: submitted.created } as unknown as JsonObject)
      } catch (err) {
        return queueErrorResult(err)
      }
    }
  })
}
