import { z } from 'zod'

/** Longest `traceparent`/`tracestate` value a grant may carry (W3C caps tracestate at 512). */
const MAX_TRACE_VALUE_CHARS = 512
import { priorityNumber } from '../tools/meta.js'
import { MAX_PEER_LEASE_MS, MAX_PEER_TASK_TIMEOUT_MS } from './constants.js'

/** Task announcement on the mesh's task topic (pull dispatch). */
export const announcementSchema = z
  .object({
    v: z.literal(1),
    mesh: z.string().min(1).max(64),
    owner: z.string().min(1).max(128),
    ts: z.number().int(),
    tasks: z
      .array(
        z
          .object({
            id: z.string().min(1).max(128),
            tool: z.string().min(1).max(128),
            priority: priorityNumber(),
            tags: z.array(z.string().max(64)).max(32).default([]),
            /** Set when the task may only run on this peer. */
            peer: z.string().max(128).optional()
          })
          .strict()
      )
      .max(256)
  })
  .strict()

export type Announcement = z.infer<typeof announcementSchema>

const meta = z
  .object({ progressToken: z.union([z.string(), z.number()]).optional() })
  .passthrough()
  .optional()

export const claimParams = z.object({ taskId: z.string().min(1).max(128), _meta: meta }).strict()
export const claimResult = z.union([
  z.object({
    granted: z.literal(true),
    task: z.object({
      id: z.string(),
      token: z.string(),
      tool: z.string(),
      args: z.record(z.string(), z.unknown()),
      timeoutMs: z.number().int().positive().max(MAX_PEER_TASK_TIMEOUT_MS),
      leaseMs: z.number().int().positive().max(MAX_PEER_LEASE_MS),
      /** The submitter's W3C trace context (`traceparent`, `tracestate`), so the run joins its trace. */
      trace: z.record(z.string().max(64), z.string().max(MAX_TRACE_VALUE_CHARS)).optional()
    })
  }),
  z.object({ granted: z.literal(false), reason: z.string() })
])

export const heartbeatParams = z
  .object({ taskId: z.string().min(1).max(128), token: z.string().min(1).max(128), _meta: meta })
  .strict()
export const heartbeatResult = z.object({ ok: z.boolean(), cancel: z.boolean() })

export const completeParams = z
  .object({
    taskId: z.string().min(1).max(128),
    token: z.string().min(1).max(128),
    result: z.object({ content: z.array(z.unknown()), isError: z.boolean().optional() }).passthrough(),
    /** Set when the worker did not run the task after all (it was full): the owner requeues it, no attempt spent. */
    notExecuted: z.string().min(1).max(500).optional(),
    _meta: meta
  })
  .strict()
export const completeResult = z.object({ accepted: z.boolean() })

export const abortParams = heartbeatParams
export const abortResult = z.object({ aborted: z.boolean() })

export const attachParams = heartbeatParams
export const attachResult = z.union([
  z.object({ state: z.literal('finished'), result: z.object({ content: z.array(z.unknown()) }).passthrough() }),
  z.object({ state: z.literal('unknown') })
])

/** `_meta` key on a tools/call that runs a queued task (push dispatch): `{ id, token, timeoutMs, leaseMs }`. */
export const TASK_META_KEY = 'mcp-mesh/task'

/** The lease a pushed task carries in `_meta[TASK_META_KEY]`. */
export const inboundTaskSchema = z.object({
  id: z.string().min(1).max(128),
  token: z.string().min(1).max(128),
  timeoutMs: z.number().int().positive().max(MAX_PEER_TASK_TIMEOUT_MS),
  leaseMs: z.number().int().positive().max(MAX_PEER_LEASE_MS)
})

export type InboundTask = z.infer<typeof inboundTaskSchema>

/** Prefix of the mesh's gossipsub topics (the same as the mesh layer's). */
const TOPIC_PREFIX = '/mcp-mesh'

/** The mesh's task topic (pull dispatch), versioned and namespaced by mesh name. */
export function taskTopic(mesh: string): string {
  return `${TOPIC_PREFIX}/${mesh}/tasks/1.0.0`
}
