import { z } from 'zod'
import { priorityNumber, RETRY_POLICIES, TOOL_NAME_PATTERN } from '../tools/meta.js'
import { DEFAULT_MAX_STEPS, hour, MAX_PARALLEL_LIMIT, STEP_ID_PATTERN } from './constants.js'

/** A duration in milliseconds: a positive integer up to `maxMs` (a task's or a wait's timeout, a workflow's deadline). */
export const timeoutMsNumber = (maxMs: number): z.ZodNumber => z.number().int().positive().max(maxMs)

/** An argument taken from an earlier output, an input, or the current forEach item. */
export const refObjectSchema = z
  .object({
    $ref: z
      .string()
      .min(1)
      .max(512)
      .describe(
        'steps.<id>.output[.<path>], inputs.<name>[.<path>], item[.<path>], index, workflow.id or workflow.name'
      )
  })
  .strict()

const tagSchema = z.string().min(1).max(64)

export const placementSchema = z
  .union([
    z.enum(['local', 'spread']).describe('"local": run on the owning node; "spread": forEach items on different peers'),
    z
      .object({
        local: z.boolean().optional().describe('Run on the owning node only'),
        peer: z.string().min(1).max(128).optional().describe('Run on this peer only (a peer ID)'),
        tags: z.array(tagSchema).max(32).optional().describe("The worker's tool must carry all these tags"),
        spread: z
          .union([z.boolean(), z.string().regex(/^[A-Za-z0-9._-]{1,64}$/)])
          .optional()
          .describe(
            'true: the forEach items of this step land on different peers where possible; a group name: every step of the group does'
          )
      })
      .strict()
  ])
  .describe('Where the step runs; default: wherever the router and the queue place it')

export const stepRetrySchema = z
  .object({
    policy: z.enum(RETRY_POLICIES).optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    baseDelayMs: z.number().int().min(0).max(3_600_000).optional(),
    retryOnToolError: z.boolean().optional(),
    jitter: z.boolean().optional()
  })
  .strict()
  .describe("Overrides the tool's retry policy")

export const stepSchema = z
  .object({
    id: z
      .string()
      .regex(STEP_ID_PATTERN, 'must start with a letter or _ and hold only A-Z a-z 0-9 _ - (no dots), at most 64')
      .describe('Unique step id, used in references: steps.<id>.output'),
    tool: z
      .string()
      .regex(TOOL_NAME_PATTERN, 'must be a tool name (A-Z a-z 0-9 . _ -, 1-128)')
      .describe('Tool to call'),
    description: z.string().max(1_000).optional(),
    args: z.record(z.string(), z.unknown()).default({}).describe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${…} is the workflow template syntax
      'Tool arguments. Any value may be {"$ref": "steps.<id>.output.<path>"}; strings may embed ${steps.<id>.output.<path>}; {"$literal": v} passes v verbatim'
    ),
    dependsOn: z
      .array(z.string().min(1).max(64))
      .max(1_000)
      .default([])
      .describe('Extra dependencies; references add theirs'),
    placement: placementSchema.optional(),
    retry: stepRetrySchema.optional(),
    timeoutMs: timeoutMsNumber(24 * hour)
      .optional()
      .describe("Per-task timeout; overrides the tool's"),
    priority: priorityNumber().optional().describe('Task priority 0-10 (10 first)'),
    forEach: z
      .union([z.string().min(1).max(512), refObjectSchema, z.array(z.unknown())])
      .optional()
      .describe(
        'Fan-out: one task per element of this array (a reference such as "steps.list.output.items", or a literal array). Args see the element as item and its position as index; the output is the array of outputs, in order'
      )
  })
  .strict()

export const workflowDocumentSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().min(1).max(128).describe('Workflow name (need not be unique)'),
    description: z.string().max(4_000).optional(),
    inputs: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/), z.unknown())
      .default({})
      .describe('Default inputs, referenced as inputs.<name>; workflow_submit may override them'),
    output: z
      .unknown()
      .optional()
      .describe('The final result: a value that may hold references; default: the output of the single last step'),
    maxParallel: z
      .number()
      .int()
      .min(1)
      .max(MAX_PARALLEL_LIMIT)
      .optional()
      .describe('Tasks in flight at once (forEach items count one each)'),
    onFailure: z
      .enum(['fail-fast', 'continue'])
      .default('fail-fast')
      .describe(
        'fail-fast: cancel running steps and skip the rest; continue: skip only what depends on the failed step'
      ),
    tags: z.array(tagSchema).max(32).default([]).describe('Labels for workflow_list'),
    timeoutMs: timeoutMsNumber(7 * 24 * hour)
      .optional()
      .describe('Deadline for the whole workflow'),
    steps: z.array(stepSchema).min(1).max(DEFAULT_MAX_STEPS)
  })
  .strict()

export type WorkflowDocument = z.output<typeof workflowDocumentSchema>
export type WorkflowDocumentInput = z.input<typeof workflowDocumentSchema>
export type WorkflowStep = z.output<typeof stepSchema>
export type StepPlacement = z.output<typeof placementSchema>

export const WORKFLOW_SCHEMA_ID = 'https://github.com/mcp-mesh/mcp-mesh/schemas/workflow.schema.json'

/** The published JSON Schema of the document (`schemas/workflow.schema.json`). */
export function workflowJsonSchema(): Record<string, unknown> {
  const json = z.toJSONSchema(workflowDocumentSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: WORKFLOW_SCHEMA_ID,
    title: 'mcp-mesh workflow',
    description:
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${…} is the workflow template syntax
      'A DAG of tool calls run across an mcp-mesh. References ({"$ref": "steps.<id>.output.<path>"} or "${…}" in strings) and cross-step rules (unknown dependencies, cycles, unknown tools) are checked by the node before anything runs; see docs/workflows.md.',
    ...Object.fromEntries(Object.entries(json).filter(([key]) => key !== '$schema'))
  }
}
