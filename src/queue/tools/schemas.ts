import type { CallToolResult } from '@modelcontextprotocol/server'
import { z } from 'zod'
import { priorityNumber, type ToolMetaInput } from '../../tools/meta.js'
import { errorResult } from '../../tools/define.js'
import { MeshError } from '../../util/errors.js'
import { TASK_STATES, type Task } from '../types.js'

export const taskStateSchema = z.enum(TASK_STATES)
export const taskIdSchema = z.string().min(1).max(128).describe('Task ID (from task_submit)')
export const prioritySchema = priorityNumber().describe('0-10, 10 runs first')

export const placementSchema = z
  .object({
    local: z.boolean().optional().describe('Run on this node only'),
    peer: z.string().min(1).max(128).optional().describe('Run on this peer only'),
    tags: z.array(z.string().min(1).max(64)).max(32).optional().describe("Worker's tool must carry these tags"),
    spread: z.string().min(1).max(128).optional().describe('Tasks with the same key prefer different workers')
  })
  .strict()

export const retryOverrideSchema = z
  .object({
    policy: z.enum(['none', 'linear', 'exponential']).optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    baseDelayMs: z.number().int().min(0).max(3_600_000).optional(),
    jitter: z.boolean().optional(),
    retryOnToolError: z.boolean().optional()
  })
  .strict()

const attemptSchema = z.object({
  attempt: z.number().int(),
  worker: z.string(),
  dispatch: z.enum(['local', 'push', 'pull']),
  startedAt: z.number(),
  finishedAt: z.number().optional(),
  outcome: z.string().optional(),
  error: z.string().optional()
})

export const taskSchema = z.object({
  id: z.string(),
  tool: z.string(),
  args: z.record(z.string(), z.unknown()),
  state: taskStateSchema,
  priority: z.number().int(),
  seq: z.number().int(),
  tags: z.array(z.string()),
  idempotencyKey: z.string().optional(),
  retry: z.object({
    policy: z.string(),
    maxAttempts: z.number(),
    baseDelayMs: z.number(),
    jitter: z.boolean(),
    retryOnToolError: z.boolean()
  }),
  timeoutMs: z.number(),
  runAt: z.number(),
  createdAt: z.number(),
  updatedAt: z.number(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  attempts: z.number().int(),
  history: z.array(attemptSchema),
  worker: z.string().optional(),
  result: z.unknown().optional(),
  error: z.string().optional(),
  reason: z.string().optional(),
  placement: placementSchema.optional(),
  failIfNoWorker: z.boolean(),
  labels: z.record(z.string(), z.string()),
  expiresAt: z.number().optional()
})

type TaskOutput = z.infer<typeof taskSchema>

/**
 * The task as tools return it: `taskRecord`'s view, deep-copied and
 * JSON-clean (no undefined values, nothing shared with the live task).
 */
export function taskOutput(task: Task): TaskOutput {
  return JSON.parse(JSON.stringify(taskRecord(task))) as TaskOutput
}

/** Sets `key` on `target` unless `value` is undefined (outputs are JSON-clean). */
function defined<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value
}

/**
 * The task exactly as `taskSchema` parses its JSON (the schema's fields, in
 * its order, no undefined values), built directly from a task this node made:
 * no JSON round trip and no schema walk. The task's arguments, result and
 * labels are shared with `task`, not copied (`taskOutput` copies them).
 */
export function taskRecord(task: Task): TaskOutput {
  const { retry } = task
  const out = {
    id: task.id,
    tool: task.tool,
    args: task.args,
    state: task.state,
    priority: task.priority,
    seq: task.seq,
    tags: [...task.tags]
  } as TaskOutput
  defined(out, 'idempotencyKey', task.idempotencyKey)
  out.retry = {
    policy: retry.policy,
    maxAttempts: retry.maxAttempts,
    baseDelayMs: retry.baseDelayMs,
    jitter: retry.jitter,
    retryOnToolError: retry.retryOnToolError
  }
  out.timeoutMs = task.timeoutMs
  out.runAt = task.runAt
  out.createdAt = task.createdAt
  out.updatedAt = task.updatedAt
  defined(out, 'startedAt', task.startedAt)
  defined(out, 'finishedAt', task.finishedAt)
  out.attempts = task.attempts
  out.history = task.history.map((attempt) => {
    const entry = {
      attempt: attempt.attempt,
      worker: attempt.worker,
      dispatch: attempt.dispatch,
      startedAt: attempt.startedAt
    } as TaskOutput['history'][number]
    defined(entry, 'finishedAt', attempt.finishedAt)
    defined(entry, 'outcome', attempt.outcome)
    defined(entry, 'error', attempt.error)
    return entry
  })
  defined(out, 'worker', task.worker)
  defined(out, 'result', task.result)
  defined(out, 'error', task.error)
  defined(out, 'reason', task.reason)
  if (task.placement !== undefined) {
    const { local, peer, tags, spread } = task.placement
    const placement: NonNullable<TaskOutput['placement']> = {}
    defined(placement, 'local', local)
    defined(placement, 'peer', peer)
    if (tags !== undefined) placement.tags = [...tags]
    defined(placement, 'spread', spread)
    out.placement = placement
  }
  out.failIfNoWorker = task.failIfNoWorker
  out.labels = task.labels
  defined(out, 'expiresAt', task.expiresAt)
  return out
}

/**
 * Queue errors (unknown id, finished task, missing confirm...) are tool
 * errors (`isError`, SEP-1303): the model reads them and corrects the call;
 * the queue's state is unchanged.
 */
export function queueErrorResult(err: unknown): CallToolResult {
  if (err instanceof MeshError) return errorResult(err.message)
  throw err
}

export async function guard<T>(fn: () => Promise<T> | T): Promise<T | CallToolResult> {
  try {
    return await fn()
  } catch (err) {
    return queueErrorResult(err)
  }
}

/** Metadata shared by the queue's tools: they run on this node and are never exported by default. */
export function queueToolMeta(extra: Partial<ToolMetaInput> = {}): ToolMetaInput {
  return {
    runtime: 'local',
    category: 'queue',
    priority: 7,
    timeoutMs: 10_000,
    retry: { policy: 'none', maxAttempts: 1, baseDelayMs: 0, retryOnToolError: false },
    tags: ['queue'],
    ...extra
  }
}
