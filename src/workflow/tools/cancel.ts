import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { WorkflowEngine } from '../engine/engine.js'
import { workflowIdSchema, workflowMeta, workflowStateSchema } from './schemas.js'

export function createWorkflowCancelTool(engine: WorkflowEngine): Tool {
  return defineTool({
    name: 'workflow_cancel',
    title: 'Cancel a workflow',
    description:
      'Cancels a running workflow: the tasks of its running steps are cancelled on whichever peer runs them, pending steps are skipped, and the workflow ends "cancelled". A finished workflow is left as it is. Example: {"workflowId": "wf-0123456789abcdef", "reason": "wrong input"}.',
    inputSchema: z.object({
      workflowId: workflowIdSchema,
      reason: z.string().min(1).max(500).optional().describe('Recorded with the cancellation')
    }),
    outputSchema: z.object({
      workflowId: z.string(),
      state: workflowStateSchema,
      cancelled: z.array(z.string()).describe('Steps whose running tasks were cancelled'),
      skipped: z.array(z.string()).describe('Steps that never ran'),
      alreadyFinished: z.boolean()
    }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    meta: workflowMeta({ priority: 9, timeoutMs: 30_000 }),
    handler: async ({ workflowId, reason }, ctx) => {
      const before = await engine.status(workflowId, { signal: ctx.signal })
      const after =
        before.state === 'running' ? await engine.cancel(workflowId, reason ?? 'cancelled by workflow_cancel') : before
      const previously = new Map(before.steps.map((step) => [step.id, step.state]))
      return {
        workflowId,
        state: after.state,
        cancelled: after.steps
          .filter((s) => s.state === 'cancelled' && previously.get(s.id) === 'running')
          .map((s) => s.id),
        skipped: after.steps
          .filter((s) => s.state === 'skipped' && previously.get(s.id) === 'pending')
          .map((s) => s.id),
        alreadyFinished: before.state !== 'running'
      }
    }
  })
}
