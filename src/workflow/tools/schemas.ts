import type { CallToolResult } from '@modelcontextprotocol/server'
import { z } from 'zod'
import type { ToolMetaInput } from '../../tools/meta.js'
import type { ToolContext } from '../../tools/types.js'
import { WORKFLOW_ID_PATTERN } from '../constants.js'
import type { WorkflowValidationError } from '../errors.js'
import { PROBLEM_CODES, STEP_STATES, WORKFLOW_STATES, type WorkflowStepEvent } from '../types.js'

export const workflowIdSchema = z
  .string()
  .regex(WORKFLOW_ID_PATTERN, 'must be a workflow id, wf- followed by 16 hex digits')
  .describe('Workflow id, as workflow_submit returned it')

export const workflowStateSchema = z.enum(WORKFLOW_STATES)

export const progressSchema = z.object({
  progress: z.number(),
  total: z.number().int(),
  done: z.number().int(),
  running: z.array(z.string()),
  message: z.string()
})

export const stepStatusSchema = z.object({
  id: z.string(),
  tool: z.string(),
  state: z.enum(STEP_STATES),
  dependsOn: z.array(z.string()),
  peers: z.array(z.string()).describe("Workers that ran the step's tasks: peer IDs, or 'local'"),
  taskIds: z.array(z.string()),
  attempts: z.number().int(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  durationMs: z.number().optional(),
  items: z
    .object({
      total: z.number().int(),
      succeeded: z.number().int(),
      failed: z.number().int(),
      running: z.number().int(),
      cancelled: z.number().int()
    })
    .optional()
    .describe('forEach steps: their items by state'),
  error: z.string().optional(),
  reason: z.string().optional()
})

export const workflowStatusShape = {
  workflowId: z.string(),
  name: z.string(),
  owner: z.string().describe('Peer ID of the node scheduling the workflow'),
  state: workflowStateSchema,
  tags: z.array(z.string()),
  createdAt: z.number(),
  finishedAt: z.number().optional(),
  durationMs: z.number(),
  error: z.string().optional(),
  progress: progressSchema,
  steps: z.array(stepStatusSchema)
}

export const problemSchema = z.object({
  code: z.enum(PROBLEM_CODES),
  message: z.string(),
  step: z.string().optional(),
  path: z.string().optional(),
  cycle: z.array(z.string()).optional()
})

export const WORKFLOW_TOOL_CATEGORY = 'workflow'

/** Metadata shared by the workflow tools: they run where the workflow is owned, never routed to peers. */
export function workflowMeta(overrides: Partial<ToolMetaInput> = {}): ToolMetaInput {
  return {
    runtime: 'local',
    category: WORKFLOW_TOOL_CATEGORY,
    priority: 6,
    timeoutMs: 10_000,
    retry: { policy: 'none', maxAttempts: 1, baseDelayMs: 0, retryOnToolError: false },
    tags: ['workflow'],
    export: false,
    ...overrides
  }
}

/**
 * A validation failure as a tool error: every problem in the text, and the
 * list as JSON in a second text block. No `structuredContent`: it would not
 * match the tool's `outputSchema`, and clients validate it even on errors.
 */
export function validationErrorResult(err: WorkflowValidationError): CallToolResult {
  return {
    content: [
      { type: 'text', text: err.message },
      { type: 'text', text: JSON.stringify({ error: err.name, problems: err.problems }) }
    ],
    isError: true
  }
}

/**
 * Lets the last progress notification reach the client before the response.
 * The SDK client handles a notification one microtask after reading it but a
 * response at once, so when both arrive in one read the final notification is
 * dropped as "unknown token"; a short pause puts them in separate writes.
 */
export async function settleProgress(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, PROGRESS_SETTLE_MS))
}

const PROGRESS_SETTLE_MS = 15

/**
 * Forwards workflow events to the caller's progressToken. MCP requires the
 * progress value to rise with each notification, so repeats are dropped.
 */
export function progressForwarder(ctx: ToolContext): (event: Pick<WorkflowStepEvent, 'progress'>) => void {
  let last = -1
  return (event) => {
    const { progress, total, message } = event.progress
    if (progress <= last) return
    last = progress
    ctx.reportProgress({ progress, total, message })
  }
}
