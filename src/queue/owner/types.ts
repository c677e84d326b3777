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

/** A copy without the internal lease fields, safe to hand out. */
export function taskView(task: StoredTask): Task {
  const { lease: _lease, leaseLosses: _losses, handBacks: _handBacks, trace: _trace, ...rest } = task
  return { ...rest, history: task.history.map((attempt) => ({ ...attempt })) }
}
