import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { WorkflowEngine } from '../engine/engine.js'
import { workflowIdSchema, workflowMeta, workflowStatusShape } from './schemas.js'

export function createWorkflowStatusTool(engine: WorkflowEngine): Tool {
  return defineTool({
    name: 'workflow_status',
    title: 'Workflow status',
    description:
      'State of a workflow and of each step: pending, running, succeeded, failed, skipped or cancelled, with the peers that ran it, task ids, attempts, timings, forEach item counts and errors. Example: {"workflowId": "wf-0123456789abcdef"}.',
    inputSchema: z.object({ workflowId: workflowIdSchema }),
    outputSchema: z.object(workflowStatusShape),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: workflowMeta({ priority: 7, timeoutMs: 10_000 }),
    handler: async ({ workflowId }, ctx) => ({ ...(await engine.status(workflowId, { signal: ctx.signal })) })
  })
}
