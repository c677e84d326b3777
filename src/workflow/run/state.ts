import type { Task } from '../../queue/types.js'
import { LABEL_ITEM, LABEL_STEP } from '../constants.js'
import {
  FINAL_STEP_STATES,
  type ItemRecord,
  type ItemState,
  type StepRecord,
  type StepState,
  type WorkflowRecord,
  type WorkflowState
} from '../types.js'
import type { PlannedStep, WorkflowPlan } from '../validate.js'

export const FINAL_ITEM_STATES: ReadonlySet<ItemState> = new Set(['succeeded', 'failed', 'cancelled'])

/** One task of a step: the step itself, or one forEach item. */
export interface ItemRuntime {
  index: number
  value?: unknown
  state: ItemState
  /** Submitted to the queue (counts against maxParallel until final). */
  launched: boolean
  cancelRequested: boolean
  taskId?: string
  worker?: string
  attempts: number
  startedAt?: number
  finishedAt?: number
  output?: unknown
  error?: string
}

export interface StepRuntime {
  plan: PlannedStep
  record: StepRecord
  /** Dependencies not yet succeeded. */
  remaining: number
  items: ItemRuntime[]
  /** Next item to launch. */
  next: number
  /** Items in a final state. */
  finished: number
  forEach: boolean
}

/** The journaled state a run resumes from. */
export interface RestoredState {
  steps: StepRecord[]
  items: Map<string, ItemRecord[]>
}

/** A stepOutput answer: the value of a succeeded step, or why there is none. */
export type StepOutput = { ok: true; value: unknown } | { ok: false; reason: string }

/**
 * The mutable state of one workflow run, shared by its transitions
 * (run.ts), its dispatch to the queue, its cancellation and its reporting.
 */
export class RunState {
  readonly id: string
  readonly record: WorkflowRecord
  readonly plan: WorkflowPlan
  readonly steps = new Map<string, StepRuntime>()
  /** Ids of the steps running, in the order they began. */
  readonly running = new Set<string>()
  /** Tasks submitted and not final yet. */
  inFlight = 0
  /** Steps in a final state. */
  finalSteps = 0
  /** fail-fast, a cancel or the deadline is ending the run. */
  ending = false
  /** The node stopped: nothing more is scheduled. */
  stopped = false

  constructor(record: WorkflowRecord, plan: WorkflowPlan) {
    this.id = record.id
    this.record = record
    this.plan = plan
    for (const planned of plan.steps) {
      this.steps.set(planned.id, {
        plan: planned,
        record: { id: planned.id, tool: planned.tool, state: 'pending' },
        remaining: planned.deps.length,
        items: [],
        next: 0,
        finished: 0,
        forEach: planned.forEach != null
      })
    }
  }

  get finished(): boolean {
    return this.record.state !== 'running'
  }

  /** The step of a planned id (every id of the plan has one). */
  step(id: string): StepRuntime {
    return this.steps.get(id)!
  }

  /** Applies journaled step and item records, without scheduling anything. */
  load(state: RestoredState): void {
    const byId = new Map(state.steps.map((step) => [step.id, step]))
    for (const step of this.steps.values()) {
      const saved = byId.get(step.plan.id)
      if (saved == null) continue
      step.record = { ...saved, tool: step.plan.tool }
      if (FINAL_STEP_STATES.has(step.record.state)) this.finalSteps++
      const items = state.items.get(step.plan.id)
      if (step.forEach && items != null && items.length > 0) {
        step.items = items.map((item) => ({
          ...item,
          launched: false,
          cancelRequested: false,
          attempts: item.attempts ?? 0
        }))
        step.finished = step.items.filter((item) => FINAL_ITEM_STATES.has(item.state)).length
      }
    }
  }

  /**
   * The items of a step that begins, one per forEach value (one for a plain
   * step), with what the journal kept of them: final items stay final, the
   * others launch again (under the same idempotency keys).
   */
  createItems(step: StepRuntime, values: unknown[], restored: ItemRecord[], resumed: boolean): void {
    step.items = values.map((value, index) => ({
      index,
      value,
      state: 'pending',
      launched: false,
      cancelRequested: false,
      attempts: 0
    }))
    if (!step.forEach && resumed) {
      const item = step.items[0]!
      item.taskId = step.record.taskId
      item.worker = step.record.worker
      item.attempts = step.record.attempts ?? 0
    }
    for (const saved of restored) {
      const item = step.items[saved.index]
      if (item == null) continue
      Object.assign(item, {
        ...saved,
        value: item.value,
        launched: false,
        cancelRequested: false,
        attempts: saved.attempts ?? 0
      })
      if (FINAL_ITEM_STATES.has(item.state)) step.finished++
      else item.state = 'pending'
    }
  }

  /**
   * The step and item a task belongs to (by its labels), the task's id,
   * attempts and worker copied onto the item; undefined when the item is
   * unknown, final, or runs another task. A task that started marks its
   * item running, and a plain step's record (`stepStarted`: to journal).
   */
  applyTask(task: Task): { step: StepRuntime; item: ItemRuntime; stepStarted: boolean } | undefined {
    const step = this.steps.get(task.labels[LABEL_STEP] ?? '')
    if (step == null) return undefined
    const item = step.items[Number(task.labels[LABEL_ITEM] ?? 0)]
    if (item == null || FINAL_ITEM_STATES.has(item.state)) return undefined
    if (item.taskId != null && item.taskId !== task.id) return undefined
    item.taskId = task.id
    item.attempts = Math.max(item.attempts, task.attempts)
    if (task.worker != null) item.worker = task.worker
    if (task.state !== 'running' || item.state === 'running') return { step, item, stepStarted: false }
    item.state = 'running'
    item.startedAt = task.startedAt ?? Date.now()
    if (step.forEach) return { step, item, stepStarted: false }
    step.record.taskId = task.id
    step.record.worker = task.worker
    step.record.attempts = task.attempts
    return { step, item, stepStarted: true }
  }

  /**
   * Puts an item in a final state and counts it. Returns the record to
   * journal for a forEach item; a plain step's task is copied to its record.
   */
  settleItem(
    step: StepRuntime,
    item: ItemRuntime,
    state: ItemState,
    output?: unknown,
    error?: string
  ): ItemRecord | undefined {
    item.state = state
    item.finishedAt = Date.now()
    item.output = output
    item.error = error
    if (item.launched) this.inFlight--
    step.finished++
    if (!step.forEach) {
      if (item.taskId != null) step.record.taskId = item.taskId
      if (item.worker != null) step.record.worker = item.worker
      step.record.attempts = item.attempts
      return undefined
    }
    const record: ItemRecord = { index: item.index, state, attempts: item.attempts, finishedAt: item.finishedAt }
    if (item.taskId != null) record.taskId = item.taskId
    if (item.worker != null) record.worker = item.worker
    if (item.startedAt != null) record.startedAt = item.startedAt
    if (output !== undefined) record.output = output
    if (error != null) record.error = error
    return record
  }

  /** Puts a step in a final state; false when it already was in one. */
  finishStep(
    step: StepRuntime,
    state: StepState,
    outcome: { output?: unknown; error?: string; reason?: string }
  ): boolean {
    if (FINAL_STEP_STATES.has(step.record.state)) return false
    step.record.state = state
    step.record.finishedAt = Date.now()
    if (outcome.output !== undefined) step.record.output = outcome.output
    if (outcome.error != null) step.record.error = outcome.error
    if (outcome.reason != null) step.record.reason = outcome.reason
    this.running.delete(step.plan.id)
    this.finalSteps++
    return true
  }

  /** A pending step that will not run. */
  skipStep(step: StepRuntime, reason: string): void {
    step.record.state = 'skipped'
    step.record.reason = reason
    step.record.finishedAt = Date.now()
    this.finalSteps++
  }

  /**
   * Visits every transitive dependent of `step` still pending, with the
   * reason to skip it; `skip` must take it out of pending.
   */
  pendingDependents(step: StepRuntime, why: string, skip: (dependent: StepRuntime, reason: string) => void): void {
    const queue = [...step.plan.dependents]
    const reason = `dependency "${step.plan.id}" ${why}`
    for (let i = 0; i < queue.length; i++) {
      const dependent = this.step(queue[i]!)
      if (dependent.record.state !== 'pending') continue
      skip(
        dependent,
        i < step.plan.dependents.length ? reason : `a dependency was skipped (after "${step.plan.id}" ${why})`
      )
      queue.push(...dependent.plan.dependents)
    }
  }

  /** Once every step is final: succeeded, or failed naming the failed steps; undefined before. */
  outcome(): { state: 'succeeded' } | { state: 'failed'; error: string } | undefined {
    if (this.finalSteps < this.steps.size) return undefined
    const failed = [...this.steps.values()].filter((step) => step.record.state === 'failed')
    if (failed.length === 0) return { state: 'succeeded' }
    const names = failed.map((s) => `"${s.plan.id}"`).join(', ')
    return { state: 'failed', error: `${failed.length} step${failed.length === 1 ? '' : 's'} failed: ${names}` }
  }

  /** Puts the workflow record in its final state, with the count of steps per state. */
  finishRecord(state: WorkflowState, error?: string): void {
    const now = Date.now()
    const counts: Partial<Record<StepState, number>> = {}
    for (const step of this.steps.values()) counts[step.record.state] = (counts[step.record.state] ?? 0) + 1
    this.record.state = state
    this.record.finishedAt = now
    this.record.updatedAt = now
    this.record.counts = counts
    if (error != null) this.record.error = error
  }

  /** Task ids in flight, for the periodic re-check against the queue. */
  inFlightTasks(): string[] {
    const out: string[] = []
    for (const id of this.running) {
      for (const item of this.step(id).items) {
        if (item.launched && item.taskId != null && !FINAL_ITEM_STATES.has(item.state)) out.push(item.taskId)
      }
    }
    return out
  }

  /** Output of a succeeded step (for forEach: the outputs in item order). */
  stepOutput(id: string): StepOutput {
    const step = this.steps.get(id)
    if (step == null) return { ok: false, reason: `no step "${id}"` }
    if (step.record.state !== 'succeeded') return { ok: false, reason: `step "${id}" is ${step.record.state}` }
    return { ok: true, value: step.record.output ?? null }
  }

  stepRecords(): StepRecord[] {
    return [...this.steps.values()].map((step) => step.record)
  }
}
