import type { CallToolResult } from '@modelcontextprotocol/server'
import type { RetryPolicy } from '../tools/meta.js'
import type { JsonObject } from '../tools/types.js'

export const TASK_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead'] as const
export type TaskState = (typeof TASK_STATES)[number]
export const FINAL_STATES: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'cancelled', 'dead'])

/** Where a task may run. */
export interface TaskPlacement {
  /** Run on this node only. */
  local?: boolean
  /** Run on this peer only (a peer ID). */
  peer?: string
  /** The worker's tool must carry all these tags. */
  tags?: string[]
  /** Tasks sharing this key prefer different workers (fan-out spreading). */
  spread?: string
}

export interface TaskRetry extends RetryPolicy {
  /** Randomise each backoff by ±20 % so retries of many tasks do not align. */
  jitter: boolean
}

export interface TaskSubmission {
  tool: string
  args?: JsonObject
  /** 0-10, 10 runs first; default: the tool's metadata priority, else 5. */
  priority?: number
  tags?: string[]
  idempotencyKey?: string
  /** Overrides the tool's retry policy. */
  retry?: Partial<TaskRetry>
  /** Overrides the tool's timeout. */
  timeoutMs?: number
  /** Epoch ms before which the task does not run. */
  runAt?: number
  delayMs?: number
  placement?: TaskPlacement
  /** Fail at once (instead of waiting queued) when no worker offers the tool. */
  failIfNoWorker?: boolean
  /** Free-form labels, e.g. `{ workflowId, stepId }`; filterable in task_list. */
  labels?: Record<string, string>
}

/**
 * `rejected`: the worker refused the attempt (busy, or not accepting) and did
 * not run it; the task was requeued and the attempt is not counted.
 */
export type AttemptOutcome = 'succeeded' | 'failed' | 'lease-lost' | 'cancelled' | 'timeout' | 'rejected'

export interface TaskAttempt {
  attempt: number
  /** Peer ID of the worker, or 'local'. */
  worker: string
  dispatch: 'local' | 'push' | 'pull'
  startedAt: number
  finishedAt?: number
  outcome?: AttemptOutcome
  error?: string
}

export interface Task {
  id: string
  tool: string
  args: JsonObject
  state: TaskState
  priority: number
  /** Submission order; FIFO within a priority. */
  seq: number
  tags: string[]
  idempotencyKey?: string
  /** sha256 of the canonical JSON of tool and arguments; only with an idempotency key (what it is compared by). */
  argsHash?: string
  retry: TaskRetry
  timeoutMs: number
  runAt: number
  createdAt: number
  updatedAt: number
  startedAt?: number
  finishedAt?: number
  /** Attempts started so far (tool failures and lost leases both count). */
  attempts: number
  history: TaskAttempt[]
  /** Worker of the current or last attempt. */
  worker?: string
  result?: CallToolResult
  error?: string
  /** Why a queued task is waiting (e.g. no worker offers the tool). */
  reason?: string
  placement?: TaskPlacement
  failIfNoWorker: boolean
  labels: Record<string, string>
  /** When a finished task's record (and result) is deleted. */
  expiresAt?: number
}

export interface TaskFilter {
  state?: TaskState | TaskState[]
  tool?: string
  tag?: string
  worker?: string
  priority?: number
  labels?: Record<string, string>
}

export interface TaskPage {
  tasks: Task[]
  nextCursor?: string
  total: number
}

export interface TaskQueueEvents {
  /** Any change of a task's state (submitted, started, finished, requeued, cancelled). */
  task: CustomEvent<Task>
}

/**
 * The node's task queue as other layers (workflows, tools) use it. The
 * submitting node owns its tasks: they live in its journal and it dispatches
 * them to local or remote workers.
 */
export interface TaskQueueApi {
  submit(submission: TaskSubmission, options?: { signal?: AbortSignal }): Promise<{ task: Task; created: boolean }>
  get(id: string): Task | undefined
  list(filter?: TaskFilter, page?: { cursor?: string; limit?: number }): TaskPage
  cancel(id: string, reason?: string): Promise<Task>
  /** Resolves when the task reaches a final state; rejects on timeout or abort. */
  waitFor(id: string, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<Task>
  addEventListener(type: 'task', listener: (event: CustomEvent<Task>) => void): void
  removeEventListener(type: 'task', listener: (event: CustomEvent<Task>) => void): void
}
