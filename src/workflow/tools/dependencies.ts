import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { WorkflowEngine } from '../engine/engine.js'
import { WorkflowValidationError } from '../errors.js'
import { GRAPH_FORMATS } from '../graph.js'
import { validationErrorResult, workflowIdSchema, workflowMeta } from './schemas.js'

export function createWorkflowDependenciesTool(engine: WorkflowEngine): Tool {
  return defineTool({
    name: 'workflow_dependencies',
    title: 'Workflow dependency graph',
    description:
      'The DAG of a submitted workflow (with each step\'s state and peers) or of a document (validated, not run), as JSON nodes and edges, Graphviz dot or Mermaid text. Edges point from a dependency to the step that uses it. Example: {"workflowId": "wf-0123456789abcdef", "format": "mermaid"} or {"document": {…}, "format": "dot"}.',
    inputSchema: z
      .object({
        workflowId: workflowIdSchema.optional(),
        document: z
          .union([z.record(z.string(), z.unknown()), z.string()])
          .optional()
          .describe('A document to draw instead of a submitted workflow'),
        format: z.enum(GRAPH_FORMATS).default('json'),
        allowUnknownTools: z.boolean().default(false)
      })
      .refine((value) => (value.workflowId == null) !== (value.document == null), {
        message: 'give exactly one of workflowId and document'
      }),
    outputSchema: z.object({
      format: z.enum(GRAPH_FORMATS),
      name: z.string(),
      nodes: z.array(
        z.object({
          id: z.string(),
          tool: z.string(),
          forEach: z.boolean().optional(),
          state: z.string().optional(),
          peers: z.array(z.string()).optional()
        })
      ),
      edges: z.array(z.object({ from: z.string(), to: z.string() })),
      text: z.string().optional().describe('The dot or Mermaid source')
    }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: workflowMeta({ priority: 5, timeoutMs: 10_000 }),
    handler: async ({ workflowId, document, format, allowUnknownTools }, ctx) => {
      try {
        return { ...(await engine.graph({ workflowId, document }, format, { allowUnknownTools, signal: ctx.signal })) }
      } catch (err) {
        if (err instanceof WorkflowValidationError) return validationErrorResult(err)
        throw err
      }
    }
  })
}
