import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import type {
  StepState,
  StepStatus,
  WorkflowProgress,
  WorkflowState,
  WorkflowStatus,
  WorkflowStepEvent
} from '../types.js'
import type { RunState, StepRuntime } from './state.js'

const log = meshLogger('workflow:run')

/** Running step names shown in a progress message. */
const MESSAGE_MAX_NAMES = 5

export type StepEventListener = (event: WorkflowStepEvent) => void

/** A peer id shortened for progress messages. */
export function shortPeer(worker: string | undefined): string {
  if (worker == null) return ''
  return worker.length > 16 ? `${worker.slice(0, 8)}…${worker.slice(-6)}` : worker
}

/** Steps done of total (a running step counts half, plus its share of finished items), and a message. */
export function progressOf(run: RunState, event?: string): WorkflowProgress {
  const total = run.steps.size
  const done = run.finalSteps
  let progress = done
  for (const id of run.running) {
    const step = run.step(id)
    progress += 0.5 + (step.items.length > 0 ? (0.5 * step.finished) / step.items.length : 0)
  }
  const running = [...run.running]
  const names =
    running.length > MESSAGE_MAX_NAMES
      ? `${running.slice(0, MESSAGE_MAX_NAMES).join(', ')} (+${running.length - MESSAGE_MAX_NAMES} more)`
      : running.join(', ')
  const parts = [event, `${done}/${total} steps done`]
  if (running.length > 0) parts.push(`running: ${names}`)
  return {
    progress: Math.round(progress * 1000) / 1000,
    total,
    done,
    running,
    message: parts.filter((part) => part != null).join('; ')
  }
}

export function statusOf(run: RunState): WorkflowStatus {
  const now = Date.now()
  const record = run.record
  return {
    workflowId: run.id,
    name: record.name,
    owner: record.owner,
    state: record.state,
    tags: record.tags,
    createdAt: record.createdAt,
    finishedAt: record.finishedAt,
    durationMs: (record.finishedAt ?? now) - record.createdAt,
    error: record.error,
    progress: progressOf(run),
    steps: run.plan.steps.map((planned) => stepStatusOf(run.step(planned.id), now))
  }
}

function stepStatusOf(step: StepRuntime, now: number): StepStatus {
  const record = step.record
  const peers = new Set<string>()
  const taskIds: string[] = []
  let attempts = 0
  const items = { total: step.items.length, succeeded: 0, failed: 0, running: 0, cancelled: 0 }
  for (const item of step.items) {
    if (item.worker != null) peers.add(item.worker)
    if (item.taskId != null) taskIds.push(item.taskId)
    attempts += item.attempts
    if (item.state === 'succeeded') items.succeeded++
    else if (item.state === 'failed') items.failed++
    else if (item.state === 'cancelled') items.cancelled++
    else if (item.state === 'running') items.running++
  }
  if (step.items.length === 0) {
    if (record.worker != null) peers.add(record.worker)
    if (record.taskId != null) taskIds.push(record.taskId)
    attempts = record.attempts ?? 0
  }
  const status: StepStatus = {
    id: record.id,
    tool: record.tool,
    state: record.state,
    dependsOn: step.plan.deps,
    peers: [...peers],
    taskIds,
    attempts,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    durationMs: record.startedAt != null ? (record.finishedAt ?? now) - record.startedAt : undefined,
    error: record.error,
    reason: record.reason
  }
  if (step.forEach) status.items = { ...items, total: record.items ?? items.total }
  return status
}

/** The listeners of a run's step events; a failing listener is logged, never thrown to the run. */
export class RunEvents {
  readonly #run: RunState
  readonly #listeners = new Set<StepEventListener>()

  constructor(run: RunState) {
    this.#run = run
  }

  subscribe(listener: StepEventListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** A step (or, without one, the workflow) changed state; `event` heads the progress message. */
  emit(
    step: StepRuntime | undefined,
    state: StepState | WorkflowState,
    event: string,
    extra: { worker?: string; item?: number } = {}
  ): void {
    if (this.#listeners.size === 0) return
    const payload: WorkflowStepEvent = {
      workflowId: this.#run.id,
      step: step?.plan.id,
      state,
      ...extra,
      progress: progressOf(this.#run, event),
      final: step == null && state !== 'running'
    }
    for (const listener of this.#listeners) {
      try {
        listener(payload)
      } catch (err) {
        log.error('workflow listener failed: %s', errorMessage(err))
      }
    }
  }
}
