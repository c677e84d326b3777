import type { Task } from '../types.js'

/** The worker key of this node's own worker in leases and outstanding counts. */
export const LOCAL = 'local'

export type DispatchMode = 'auto' | 'push' | 'pull'
export type Dispatch = 'local' | 'push' | 'pull'

/** A running attempt: the worker holding it, the token its answers must carry, and when it expires. */
export interface Lease {
  worker: string
  token: string
  dispatch: Dispatch
  controller: AbortController
  expiresAt: number
  /** When the attempt times out whatever its heartbeats say: its start + the task's timeoutMs + TIMEOUT_GRACE_MS. */
  deadline: number
}

/** What a journaled running task remembers of its lease, for recovery after a restart. */
export interface StoredLease {
  worker: string
  token: string
  dispatch: Dispatch
}

/** A task as the owner keeps and journals it, with its lease bookkeeping. */
export type StoredTask = Task & {
  lease?: StoredLease
  leaseLosses?: number
  /** Pull hand-backs (`notExecuted`) not yet counted; every MAX_HAND_BACKS-th counts as a lost lease. */
  handBacks?: number
  /** W3C trace context (`_meta` entries) active when the task was submitted: its runs join that trace. */
  trace?: Record<string, string>
}

export type WorkerChoice = { kind: 'local' } | { kind: 'push'; peer: string } | { kind: 'busy' } | { kind: 'none' }

/** Every field of a Task, optional ones included (absent ones are undefined): the compiler checks the list. */
type TaskFields = { [K in keyof Required<Task>]: Task[K] | undefined }

/**
 * A copy of the task's own fields (not the internal lease fields), safe to
 * hand out; its attempts are copied too. One object literal: about ten
 * times cheaper than a rest copy, and a view is made on every change of a
 * task. Optional fields the task lacks are present as undefined (JSON
 * leaves them out; tool outputs are built by `taskRecord`, which skips them).
 */
export function taskView(task: StoredTask): Task {
  const view: TaskFields = {
    id: task.id,
    tool: task.tool,
    args: task.args,
    state: task.state,
    priority: task.priority,
    seq: task.seq,
    tags: task.tags,
    idempotencyKey: task.idempotencyKey,
    argsHash: task.argsHash,
    retry: task.retry,
    timeoutMs: task.timeoutMs,
    runAt: task.runAt,
    createdAt: task.createdAt,
    updatedAt: task.updatedAt,
    startedAt: task.startedAt,
    finishedAt: task.finishedAt,
    attempts: task.attempts,
    history: task.history.map((attempt) => ({ ...attempt })),
    worker: task.worker,
    result: task.result,
    error: task.error,
    reason: task.reason,
    placement: task.placement,
    failIfNoWorker: task.failIfNoWorker,
    labels: task.labels,
    expiresAt: task.expiresAt
  }
  return view as Task
}
