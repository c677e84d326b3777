import { z } from 'zod'

export const RUNTIMES = ['local', 'mesh', 'auto'] as const
export type Runtime = (typeof RUNTIMES)[number]

export const RETRY_POLICIES = ['none', 'linear', 'exponential'] as const
export type RetryPolicyName = (typeof RETRY_POLICIES)[number]

/** MCP tool-name rule (SEP-986). */
export const TOOL_NAME_PATTERN = /^[A-Za-z0-9._-]{1,128}$/

export const DEFAULT_PRIORITY = 5
import { MAX_TOOL_TIMEOUT_MS } from '../interface/limits.js'

export { MAX_TOOL_TIMEOUT_MS }
/** Priorities run from MIN_PRIORITY to MAX_PRIORITY; the highest runs first. */
export const MIN_PRIORITY = 0
export const MAX_PRIORITY = 10

/** A task or tool priority: an integer from 0 to 10, 10 runs first. */
export const priorityNumber = (): z.ZodNumber => z.number().int().min(MIN_PRIORITY).max(MAX_PRIORITY)
export const DEFAULT_TIMEOUT_MS = 30_000

const hintLevel = z.enum(['low', 'medium', 'high'])

export const retryPolicySchema = z
  .object({
    policy: z.enum(RETRY_POLICIES).default('none'),
    maxAttempts: z.number().int().min(1).max(100).default(1),
    baseDelayMs: z.number().int().min(0).max(3_600_000).default(200),
    /** Retry when the tool itself returned an error (default: only transport failures are retried). */
    retryOnToolError: z.boolean().default(false)
  })
  .strict()

export type RetryPolicy = z.infer<typeof retryPolicySchema>

/**
 * The delay before retry number `attempt` (1-based) of a policy: linear
 * (base × attempt) or exponential (base × 2^(attempt-1)), with ±20 % jitter
 * unless `jitter` is false. One formula for the dispatcher and the queue.
 */
export function retryDelayMs(
  policy: Pick<RetryPolicy, 'policy' | 'baseDelayMs'>,
  attempt: number,
  jitter = true
): number {
  if (policy.policy === 'none') return 0
  const base = policy.policy === 'exponential' ? policy.baseDelayMs * 2 ** (attempt - 1) : policy.baseDelayMs * attempt
  return Math.round(jitter ? base * (0.8 + Math.random() * 0.4) : base)
}

export const toolMetaSchema = z
  .object({
    runtime: z.enum(RUNTIMES).default('local'),
    requiresP2P: z.boolean().default(false),
    category: z.string().min(1).max(64).default('general'),
    priority: priorityNumber().default(DEFAULT_PRIORITY),
    timeoutMs: z.number().int().positive().max(MAX_TOOL_TIMEOUT_MS).default(DEFAULT_TIMEOUT_MS),
    retry: retryPolicySchema.default({ policy: 'none', maxAttempts: 1, baseDelayMs: 200, retryOnToolError: false }),
    hints: z
      .object({ cpu: hintLevel.optional(), memory: hintLevel.optional(), io: hintLevel.optional() })
      .strict()
      .default({}),
    tags: z.array(z.string().min(1).max(64)).max(32).default([]),
    export: z.boolean().default(false)
  })
  .strict()

export type ToolMeta = z.infer<typeof toolMetaSchema>
export type ToolMetaInput = z.input<typeof toolMetaSchema>

/** Fields a tool must declare explicitly to count as compliant in `ToolRegistry.validate()`. */
export const REQUIRED_META_FIELDS = ['category', 'priority', 'timeoutMs', 'retry'] as const
