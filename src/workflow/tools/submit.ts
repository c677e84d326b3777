import { z } from 'zod'
import { defineTool, structuredResult } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import { hour } from '../constants.js'
import { timeoutMsNumber } from '../document.js'
import type { WorkflowEngine } from '../engine/engine.js'
import { WorkflowValidationError, WorkflowWaitTimeoutError } from '../errors.js'
import {
  progressForwarder,
  settleProgress,
  validationErrorResult,
  workflowMeta,
  workflowStatusShape
} from './schemas.js'

export function createWorkflowSubmitTool(engine: WorkflowEngine): Tool {
  return defineTool({
    name: 'workflow_submit',
    title: 'Run a workflow (a DAG of tool calls across the mesh)',
    description: [
      'Validates and starts a workflow: steps are tool calls, run as soon as their dependencies succeeded, in parallel up to maxParallel, on whichever peers offer the tools.',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${…} is the workflow template syntax
      'Arguments may reference earlier outputs: {"$ref": "steps.<id>.output.<path>"} or "${steps.<id>.output.<path>}" inside strings; forEach fans a step out over an array.',
      'The document is checked first (unknown tools and dependencies, cycles, bad references); on any problem nothing runs and every problem is listed.',
      'With wait: true the call returns when the workflow ends and streams progress notifications (steps done of total, running steps) to a progressToken; the first one says "workflow <id> (<name>) submitted: <n> steps".',
      'Example: {"document": {"name": "demo", "steps": [{"id": "a", "tool": "echo", "args": {"message": "hi"}}, {"id": "b", "tool": "sha256", "args": {"text": {"$ref": "steps.a.output.message"}}}]}, "wait": true}.',
      'Schema: schemas/workflow.schema.json.'
    ].join(' '),
    inputSchema: z.object({
      document: z
        .union([z.record(z.string(), z.unknown()), z.string().max(16 * 1024 * 1024)])
        .describe('The workflow document: an object, or its JSON text'),
      inputs: z
        .record(z.string(), z.unknown())
        .optional()
        .describe("Values for inputs.<name> references (override the document's inputs)"),
      allowUnknownTools: z
        .boolean()
        .default(false)
        .describe('Accept tools no node offers yet (their tasks wait for a worker)'),
      wait: z.boolean().default(false).describe('Return only when the workflow ends, streaming progress meanwhile'),
      timeoutMs: timeoutMsNumber(24 * hour)
        .optional()
        .describe('With wait: stop waiting after this long (the workflow keeps running)')
    }),
    outputSchema: z.object({
      ...workflowStatusShape,
      final: z.unknown().optional().describe('With wait, when succeeded: the final output'),
      timedOut: z.boolean().optional().describe('With wait: the wait ended before the workflow did')
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    meta: workflowMeta({ priority: 6, timeoutMs: 24 * hour }),
    handler: async ({ document, inputs, allowUnknownTools, wait, timeoutMs }, ctx) => {
      let status: Awaited<ReturnType<WorkflowEngine['submit']>>
      try {
        status = await engine.submit(document, { inputs, allowUnknownTools, signal: ctx.signal })
      } catch (err) {
        if (err instanceof WorkflowValidationError) return validationErrorResult(err)
        throw err
      }
      if (!wait) return structuredResult({ ...status })
      // The first notification names the workflow, so a waiting client can cancel it or look it up.
      const forward = progressForwarder(ctx)
      const { total } = status.progress
      forward({
        progress: {
          ...status.progress,
          progress: 0,
          message: `workflow ${status.workflowId} (${status.name}) submitted: ${total} steps`
        }
      })
      try {
        const final = await engine.wait(status.workflowId, { signal: ctx.signal, timeoutMs, onEvent: forward })
        await settleProgress()
        const result = await engine.result(status.workflowId, 'final')
        return structuredResult({ ...final, ...(result.final !== undefined ? { final: result.final } : {}) })
      } catch (err) {
        if (err instanceof WorkflowWaitTimeoutError) {
          return structuredResult({ ...(await engine.status(status.workflowId)), timedOut: true })
        }
        throw err
      }
    }
  })
}
