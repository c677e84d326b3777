import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { WorkflowEngine } from '../engine/engine.js'
import { workflowMeta, workflowStateSchema } from './schemas.js'

export function createWorkflowListTool(engine: WorkflowEngine): Tool {
  return defineTool({
    name: 'workflow_list',
    title: 'List workflows',
    description:
      'Lists the workflows this node owns, newest first, filtered by state, tag or name and paginated with an opaque cursor. Example: {"state": "running"} or {"tag": "nightly", "limit": 20, "cursor": "…"}.',
    inputSchema: z.object({
      state: z
        .union([workflowStateSchema, z.array(workflowStateSchema).min(1)])
        .optional()
        .describe('One state or several'),
      tag: z.string().min(1).max(64).optional(),
      name: z.string().min(1).max(128).optional(),
      cursor: z.string().max(200).optional().describe('nextCursor of the previous page'),
      limit: z.number().int().min(1).max(500).default(50)
    }),
    outputSchema: z.object({
      workflows: z.array(
        z.object({
          workflowId: z.string(),
          name: z.string(),
          state: workflowStateSchema,
          tags: z.array(z.string()),
          steps: z.number().int(),
          createdAt: z.number(),
          finishedAt: z.number().optional(),
          error: z.string().optional()
        })
      ),
      total: z.number().int().describe('Workflows matching the filter, on all pages'),
      nextCursor: z.string().optional()
    }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: workflowMeta({ priority: 7, timeoutMs: 10_000 }),
    handler: async ({ state, tag, name, cursor, limit }) => ({
      ...engine.list({ state, tag, name }, { cursor, limit })
    })
  })
}
