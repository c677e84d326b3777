import { z } from 'zod'
import { defineTool, structuredResult } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import { hour } from '../constants.js'
import { timeoutMsNumber } from '../document.js'
import type { WorkflowEngine } from '../engine/engine.js'
import { WorkflowWaitTimeoutError } from '../errors.js'
import { progressForwarder, settleProgress, workflowIdSchema, workflowMeta, workflowStateSchema } from './schemas.js'

export function createWorkflowResultTool(engine: WorkflowEngine): Tool {
  return defineTool({
    name: 'workflow_result',
    title: 'Workflow result',
    description:
      'Outputs of a workflow: the final output (the document\'s "output", else the last step\'s), or with which: "all" every succeeded step\'s output by step id; failed steps\' errors always. With wait: true it first waits for the workflow to end, streaming progress. Example: {"workflowId": "wf-0123456789abcdef", "which": "all", "wait": true}.',
    inputSchema: z.object({
      workflowId: workflowIdSchema,
      which: z.enum(['final', 'all']).default('final'),
      wait: z.boolean().default(false).describe('Wait for the workflow to end first'),
      timeoutMs: timeoutMsNumber(24 * hour)
        .optional()
        .describe('With wait: give up waiting after this long')
    }),
    outputSchema: z.object({
      workflowId: z.string(),
      state: workflowStateSchema,
      final: z.unknown().optional(),
      outputs: z.record(z.string(), z.unknown()).optional(),
      errors: z.record(z.string(), z.string()).optional(),
      error: z.string().optional(),
      timedOut: z.boolean().optional()
    }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: workflowMeta({ priority: 6, timeoutMs: 24 * hour }),
    handler: async ({ workflowId, which, wait, timeoutMs }, ctx) => {
      let timedOut = false
      if (wait) {
        try {
          await engine.wait(workflowId, { signal: ctx.signal, timeoutMs, onEvent: progressForwarder(ctx) })
          await settleProgress()
        } catch (err) {
          if (!(err instanceof WorkflowWaitTimeoutError)) throw err
          timedOut = true
        }
      }
      const result = await engine.result(workflowId, which, { signal: ctx.signal })
      return structuredResult({ ...result, ...(timedOut ? { timedOut } : {}) })
    }
  })
}
