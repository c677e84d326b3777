import type { Task, TaskPlacement, TaskQueueApi, TaskSubmission } from '../queue/types.js'
import type { JsonObject } from '../tools/types.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { LABEL_ITEM, LABEL_STEP, LABEL_WORKFLOW } from './constants.js'
import type { StepPlacement } from './document.js'
import { WorkflowForEachError } from './errors.js'
import type { WorkflowJournal } from './journal.js'
import { errorTextOf, outputOf } from './output.js'
import { forEachReference, type ReferenceScope, resolveReference, resolveValue } from './refs.js'
import {
  FINAL_STEP_STATES,
  type ItemRecord,
  type ItemState,
  type StepRecord,
  type StepState,
  type StepStatus,
  type WorkflowProgress,
  type WorkflowRecord,
  type WorkflowState,
  type WorkflowStatus,
  type WorkflowStepEvent
} from './types.js'
import type { PlannedStep, WorkflowPlan } from './validate.js'

const log = meshLogger('workflow:run')

const FINAL_ITEM_STATES: ReadonlySet<ItemState> = new Set(['succeeded', 'failed', 'cancelled'])
/** Running step names shown in a progress message. */
const MESSAGE_MAX_NAMES = 5

interface ItemRuntime {
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

interface StepRuntime {
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

export interface WorkflowRunInit {
  record: WorkflowRecord
  plan: WorkflowPlan
  queue: TaskQueueApi
  journal: WorkflowJournal
  maxParallel: number
  maxForEachItems: number
  /** Called once, when the workflow reaches a final state. */
  onFinished: (run: WorkflowRun) => void
}

/** The journaled state a run resumes from. */
export interface RestoredState {
  steps: StepRecord[]
  items: Map<string, ItemRecord[]>
}

export type StepEventListener = (event: WorkflowStepEvent) => void

function toTaskPlacement(
  placement: StepPlacement | undefined,
  workflowId: string,
  stepId: string
): TaskPlacement | undefined {
  if (placement == null) return undefined
  if (placement === 'local') return { local: true }
  if (placement === 'spread') return { spread: `wf:${workflowId}:${stepId}` }
  const out: TaskPlacement = {}
  if (placement.local === true) out.local = true
  if (placement.peer != null) out.peer = placement.peer
  if (placement.tags != null && placement.tags.length > 0) out.tags = placement.tags
  if (placement.spread === true) out.spread = `wf:${workflowId}:${stepId}`
  else if (typeof placement.spread === 'string') out.spread = `wf:${workflowId}:group:${placement.spread}`
  return out
}

function shortPeer(worker: string | undefined): string {
  if (worker == null) return ''
  return worker.length > 16 ? `${worker.slice(0, 8)}…${worker.slice(-6)}` : worker
}

/**
 * One workflow being scheduled: steps start as soon as their dependencies
 * succeeded, each task (a step, or one forEach item) is submitted to the task
 * queue, and at most `maxParallel` tasks are in flight. Every state change is
 * journaled; `restore` rebuilds a run from the journal after a restart.
 */
export class WorkflowRun {
  readonly id: string
  readonly record: WorkflowRecord
  readonly plan: WorkflowPlan
  readonly #queue: TaskQueueApi
  readonly #journal: WorkflowJournal
  readonly #maxParallel: number
  readonly #maxForEachItems: number
  readonly #onFinished: (run: WorkflowRun) => void
  readonly #steps = new Map<string, StepRuntime>()
  readonly #running = new Set<string>()
  readonly #listeners = new Set<StepEventListener>()
  readonly #launchable: StepRuntime[] = []
  #launchHead = 0
  #inFlight = 0
  #finalSteps = 0
  #ending = false
  #stopped = false
  #pumping = false
  #pumpAgain = false
  #timer?: NodeJS.Timeout
  readonly #done: Promise<void>
  #resolveDone!: () => void

  constructor(init: WorkflowRunInit) {
    this.id = init.record.id
    this.record = init.record
    this.plan = init.plan
    this.#queue = init.queue
    this.#journal = init.journal
    this.#maxParallel = init.maxParallel
    this.#maxForEachItems = init.maxForEachItems
    this.#onFinished = init.onFinished
    this.#done = new Promise<void>((resolve) => {
      this.#resolveDone = resolve
    })
    for (const planned of init.plan.steps) {
      this.#steps.set(planned.id, {
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

  get state(): WorkflowState {
    return this.record.state
  }

  get finished(): boolean {
    return this.record.state !== 'running'
  }

  /** Resolves when the workflow reaches a final state (or the run is stopped with the node). */
  get done(): Promise<void> {
    return this.#done
  }

  get inFlight(): number {
    return this.#inFlight
  }

  subscribe(listener: StepEventListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Starts a new workflow: journals it and launches the steps without dependencies. */
  start(): void {
    this.#journal.putDocument(this.id, this.plan.document)
    this.#journal.putRecord(this.record)
    for (const step of this.#steps.values()) this.#journal.putStep(this.id, step.record)
    this.#armTimer()
    for (const id of this.plan.order) {
      const step = this.#steps.get(id)!
      if (step.remaining === 0) this.#begin(step)
    }
    this.#pump()
    this.#checkDone()
  }

  /**
   * Resumes from the journal. Succeeded steps keep their outputs and are not
   * run again; steps that were running re-submit their tasks under the same
   * idempotency keys, so the queue hands back the tasks it already has.
   */
  restore(state: RestoredState): void {
    this.load(state)
    for (const step of this.#steps.values()) {
      step.remaining = step.plan.deps.filter((dep) => this.#steps.get(dep)!.record.state !== 'succeeded').length
    }
    this.#armTimer()
    if (this.record.cancelReason != null) {
      void this.#abort('cancelled', this.record.cancelReason)
      return
    }
    const failed = [...this.#steps.values()].filter((step) => step.record.state === 'failed')
    if (failed.length > 0 && this.plan.document.onFailure === 'fail-fast') {
      void this.#abort('failed', this.record.error ?? `step "${failed[0]!.plan.id}" failed: ${failed[0]!.record.error}`)
      return
    }
    for (const step of this.#steps.values()) {
      if (step.record.state === 'failed' || step.record.state === 'skipped' || step.record.state === 'cancelled') {
        this.#skipDependents(step, step.record.state === 'failed' ? 'failed' : 'was not run')
      }
    }
    for (const id of this.plan.order) {
      const step = this.#steps.get(id)!
      if (step.record.state === 'running') this.#begin(step, state.items.get(id) ?? [])
      else if (step.record.state === 'pending' && step.remaining === 0) this.#begin(step)
    }
    this.#pump()
    this.#checkDone()
  }

  /** Applies journaled step and item records, without scheduling anything (also used to view finished workflows). */
  load(state: RestoredState): void {
    const byId = new Map(state.steps.map((step) => [step.id, step]))
    for (const step of this.#steps.values()) {
      const saved = byId.get(step.plan.id)
      if (saved == null) continue
      step.record = { ...saved, tool: step.plan.tool }
      if (FINAL_STEP_STATES.has(step.record.state)) this.#finalSteps++
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

  /** Cancels the workflow: running steps' tasks are cancelled wherever they run, pending steps are skipped. */
  async cancel(reason: string): Promise<void> {
    if (this.finished || this.#ending) return
    this.record.cancelReason = reason
    this.#journal.putRecord(this.record)
    await this.#abort('cancelled', reason)
  }

  /** Detaches without touching tasks (the node is stopping); a restart resumes the run. */
  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#resolveDone()
  }

  /** A task changed state in the queue (routed here by its labels). */
  onTask(task: Task): void {
    if (this.#stopped || this.finished) return
    const step = this.#steps.get(task.labels[LABEL_STEP] ?? '')
    if (step == null) return
    const item = step.items[Number(task.labels[LABEL_ITEM] ?? 0)]
    if (item == null || FINAL_ITEM_STATES.has(item.state)) return
    if (item.taskId != null && item.taskId !== task.id) return
    item.taskId = task.id
    item.attempts = Math.max(item.attempts, task.attempts)
    if (task.worker != null) item.worker = task.worker
    switch (task.state) {
      case 'queued':
        return
      case 'running':
        if (item.state !== 'running') {
          item.state = 'running'
          item.startedAt = task.startedAt ?? Date.now()
          if (!step.forEach) {
            step.record.taskId = task.id
            step.record.worker = task.worker
            step.record.attempts = task.attempts
            this.#journal.putStep(this.id, step.record)
          }
        }
        return
      case 'succeeded':
        if (task.result?.isError === true) this.#itemFinished(step, item, 'failed', undefined, errorTextOf(task.result))
        else this.#itemFinished(step, item, 'succeeded', outputOf(task.result))
        return
      case 'failed':
      case 'dead':
        this.#itemFinished(
          step,
          item,
          'failed',
          undefined,
          task.error ?? (task.result != null ? errorTextOf(task.result) : `task ${task.state}`)
        )
        return
      case 'cancelled':
        this.#itemFinished(
          step,
          item,
          item.cancelRequested ? 'cancelled' : 'failed',
          undefined,
          `task was cancelled${task.error != null ? `: ${task.error}` : ''}`
        )
        return
    }
  }

  /** Task ids in flight, for the periodic re-check against the queue. */
  inFlightTasks(): string[] {
    const out: string[] = []
    for (const id of this.#running) {
      for (const item of this.#steps.get(id)!.items) {
        if (item.launched && item.taskId != null && !FINAL_ITEM_STATES.has(item.state)) out.push(item.taskId)
      }
    }
    return out
  }

  /** Output of a succeeded step (for forEach: the outputs in item order). */
  stepOutput(id: string): { ok: true; value: unknown } | { ok: false; reason: string } {
    const step = this.#steps.get(id)
    if (step == null) return { ok: false, reason: `no step "${id}"` }
    if (step.record.state !== 'succeeded') return { ok: false, reason: `step "${id}" is ${step.record.state}` }
    return { ok: true, value: step.record.output ?? null }
  }

  stepRecords(): StepRecord[] {
    return [...this.#steps.values()].map((step) => step.record)
  }

  progress(event?: string): WorkflowProgress {
    const total = this.#steps.size
    const done = this.#finalSteps
    let progress = done
    for (const id of this.#running) {
      const step = this.#steps.get(id)!
      progress += 0.5 + (step.items.length > 0 ? (0.5 * step.finished) / step.items.length : 0)
    }
    const running = [...this.#running]
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

  status(): WorkflowStatus {
    const now = Date.now()
    return {
      workflowId: this.id,
      name: this.record.name,
      owner: this.record.owner,
      state: this.record.state,
      tags: this.record.tags,
      createdAt: this.record.createdAt,
      finishedAt: this.record.finishedAt,
      durationMs: (this.record.finishedAt ?? now) - this.record.createdAt,
      error: this.record.error,
      progress: this.progress(),
      steps: this.plan.steps.map((planned) => this.#stepStatus(this.#steps.get(planned.id)!, now))
    }
  }

  #stepStatus(step: StepRuntime, now: number): StepStatus {
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

  #emit(
    step: StepRuntime | undefined,
    state: StepState | WorkflowState,
    event: string,
    extra: { worker?: string; item?: number } = {}
  ): void {
    if (this.#listeners.size === 0) return
    const payload: WorkflowStepEvent = {
      workflowId: this.id,
      step: step?.plan.id,
      state,
      ...extra,
      progress: this.progress(event),
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

  #armTimer(): void {
    const timeoutMs = this.plan.document.timeoutMs
    if (timeoutMs == null) return
    const left = this.record.createdAt + timeoutMs - Date.now()
    this.#timer = setTimeout(
      () => {
        void this.#abort('failed', `workflow timed out after ${timeoutMs} ms`)
      },
      Math.max(0, left)
    )
    this.#timer.unref()
  }

  #scope(step: StepRuntime, item?: ItemRuntime): ReferenceScope {
    return {
      step: step.plan.id,
      stepOutput: (id) => this.stepOutput(id),
      inputs: this.plan.inputs,
      workflow: { id: this.id, name: this.record.name },
      item: item != null && step.forEach ? { value: item.value, index: item.index } : undefined
    }
  }

  /** Dependencies done: resolve forEach, create the step's items, and queue them for launch. */
  #begin(step: StepRuntime, restoredItems: ItemRecord[] = []): void {
    if (this.#ending) return
    const now = Date.now()
    const resumed = step.record.state === 'running'
    step.record.state = 'running'
    step.finished = 0
    step.next = 0
    step.record.startedAt ??= now
    this.#running.add(step.plan.id)
    let values: unknown[] = [undefined]
    if (step.forEach) {
      try {
        values = this.#forEachValues(step)
      } catch (err) {
        this.#stepFinished(step, 'failed', { error: errorMessage(err) })
        return
      }
      step.record.items = values.length
    }
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
    for (const saved of restoredItems) {
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
    this.#journal.putStep(this.id, step.record)
    if (step.items.length === 0) {
      this.#stepFinished(step, 'succeeded', { output: [] })
      return
    }
    if (step.finished === step.items.length) {
      this.#completeFromItems(step)
      return
    }
    this.#launchable.push(step)
    this.#emit(step, 'running', `${step.plan.id} started${step.forEach ? ` (${step.items.length} items)` : ''}`)
  }

  #forEachValues(step: StepRuntime): unknown[] {
    const source = step.plan.forEach
    let values: unknown
    if (Array.isArray(source)) values = source
    else {
      const located = forEachReference(source)
      if (located?.ref == null)
        throw new WorkflowForEachError(step.plan.id, `is not a reference: ${located?.error ?? String(source)}`)
      values = resolveReference(located.ref, this.#scope(step))
    }
    if (!Array.isArray(values)) {
      throw new WorkflowForEachError(
        step.plan.id,
        `must resolve to an array, got ${values === null ? 'null' : typeof values}`
      )
    }
    if (values.length > this.#maxForEachItems) {
      throw new WorkflowForEachError(
        step.plan.id,
        `has ${values.length} items, more than the limit of ${this.#maxForEachItems}`
      )
    }
    return values
  }

  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true
      return
    }
    this.#pumping = true
    try {
      do {
        this.#pumpAgain = false
        while (
          !this.#ending &&
          !this.#stopped &&
          this.#inFlight < this.#maxParallel &&
          this.#launchHead < this.#launchable.length
        ) {
          const step = this.#launchable[this.#launchHead]!
          if (step.record.state !== 'running' || step.next >= step.items.length) {
            this.#launchHead++
            continue
          }
          const item = step.items[step.next++]!
          if (item.state !== 'pending') continue
          this.#launch(step, item)
        }
        if (this.#launchHead > 256) {
          this.#launchable.splice(0, this.#launchHead)
          this.#launchHead = 0
        }
      } while (this.#pumpAgain)
    } finally {
      this.#pumping = false
    }
  }

  #launch(step: StepRuntime, item: ItemRuntime): void {
    let args: JsonObject
    try {
      args = resolveValue(step.plan.args, this.#scope(step, item)) as JsonObject
    } catch (err) {
      this.#itemFinished(step, item, 'failed', undefined, errorMessage(err))
      return
    }
    item.launched = true
    this.#inFlight++
    const planned = step.plan
    const key = `wf:${this.id}:${planned.id}${step.forEach ? `:${item.index}` : ''}`
    const submission: TaskSubmission = {
      tool: planned.tool,
      args,
      idempotencyKey: key,
      labels: { [LABEL_WORKFLOW]: this.id, [LABEL_STEP]: planned.id, [LABEL_ITEM]: String(item.index) }
    }
    if (planned.priority != null) submission.priority = planned.priority
    if (planned.retry != null) submission.retry = planned.retry
    if (planned.timeoutMs != null) submission.timeoutMs = planned.timeoutMs
    const placement = toTaskPlacement(planned.placement, this.id, planned.id)
    if (placement != null) submission.placement = placement
    this.#queue.submit(submission).then(
      ({ task }) => {
        if (this.#stopped) return
        if (item.cancelRequested && item.taskId == null) {
          item.taskId = task.id
          this.#queue.cancel(task.id, this.record.cancelReason ?? 'workflow ended').catch(() => {})
          return
        }
        this.onTask(task)
      },
      (err: unknown) => {
        if (this.#stopped) return
        this.#itemFinished(step, item, 'failed', undefined, `could not submit the task: ${errorMessage(err)}`)
      }
    )
  }

  #itemFinished(step: StepRuntime, item: ItemRuntime, state: ItemState, output?: unknown, error?: string): void {
    if (FINAL_ITEM_STATES.has(item.state)) return
    item.state = state
    item.finishedAt = Date.now()
    item.output = output
    item.error = error
    if (item.launched) this.#inFlight--
    step.finished++
    if (step.forEach) {
      const record: ItemRecord = { index: item.index, state, attempts: item.attempts, finishedAt: item.finishedAt }
      if (item.taskId != null) record.taskId = item.taskId
      if (item.worker != null) record.worker = item.worker
      if (item.startedAt != null) record.startedAt = item.startedAt
      if (output !== undefined) record.output = output
      if (error != null) record.error = error
      this.#journal.putItem(this.id, step.plan.id, record)
    } else {
      if (item.taskId != null) step.record.taskId = item.taskId
      if (item.worker != null) step.record.worker = item.worker
      step.record.attempts = item.attempts
    }
    if (step.record.state === 'running') {
      if (state === 'failed') {
        const prefix = step.forEach ? `item ${item.index}: ` : ''
        this.#stepFinished(step, 'failed', { error: `${prefix}${error ?? 'failed'}` })
      } else if (step.finished === step.items.length) {
        this.#completeFromItems(step)
      } else if (step.forEach && state === 'succeeded') {
        this.#emit(
          step,
          'running',
          `${step.plan.id} item ${item.index} succeeded${item.worker != null ? ` on ${shortPeer(item.worker)}` : ''}`,
          {
            item: item.index,
            worker: item.worker
          }
        )
      }
    }
    this.#pump()
    this.#checkDone()
  }

  #completeFromItems(step: StepRuntime): void {
    const failed = step.items.find((item) => item.state === 'failed')
    if (failed != null) {
      this.#stepFinished(step, 'failed', {
        error: `${step.forEach ? `item ${failed.index}: ` : ''}${failed.error ?? 'failed'}`
      })
    } else if (step.items.some((item) => item.state === 'cancelled')) {
      this.#stepFinished(step, 'cancelled', { reason: 'its tasks were cancelled' })
    } else {
      this.#stepFinished(step, 'succeeded', {
        output: step.forEach ? step.items.map((item) => item.output ?? null) : (step.items[0]?.output ?? null)
      })
    }
  }

  #stepFinished(
    step: StepRuntime,
    state: StepState,
    outcome: { output?: unknown; error?: string; reason?: string }
  ): void {
    if (FINAL_STEP_STATES.has(step.record.state)) return
    step.record.state = state
    step.record.finishedAt = Date.now()
    if (outcome.output !== undefined) step.record.output = outcome.output
    if (outcome.error != null) step.record.error = outcome.error
    if (outcome.reason != null) step.record.reason = outcome.reason
    this.#running.delete(step.plan.id)
    this.#finalSteps++
    this.#journal.putStep(this.id, step.record)
    const worker = step.forEach ? undefined : step.items[0]?.worker
    const on = worker != null ? ` on ${shortPeer(worker)}` : ''
    const detail = state === 'failed' ? `: ${outcome.error}` : ''
    this.#emit(step, state, `${step.plan.id} ${state}${on}${detail}`, { worker })

    if (state === 'succeeded') {
      for (const id of step.plan.dependents) {
        const dependent = this.#steps.get(id)!
        dependent.remaining--
        if (dependent.remaining === 0 && dependent.record.state === 'pending') this.#begin(dependent)
      }
      return
    }
    if (state !== 'failed') return
    // The step failed: its other items stop, then the failure policy applies.
    this.#cancelItems(step, 'a sibling forEach item failed')
    if (this.#ending) return
    if (this.plan.document.onFailure === 'fail-fast') {
      void this.#abort('failed', `step "${step.plan.id}" failed: ${outcome.error ?? 'failed'}`)
    } else {
      this.#skipDependents(step, 'failed')
    }
  }

  /** With `continue`: every transitive dependent of `step` that has not started is skipped. */
  #skipDependents(step: StepRuntime, why: string): void {
    const queue = [...step.plan.dependents]
    const reason = `dependency "${step.plan.id}" ${why}`
    for (let i = 0; i < queue.length; i++) {
      const dependent = this.#steps.get(queue[i]!)!
      if (dependent.record.state !== 'pending') continue
      this.#markSkipped(
        dependent,
        i < step.plan.dependents.length ? reason : `a dependency was skipped (after "${step.plan.id}" ${why})`
      )
      queue.push(...dependent.plan.dependents)
    }
  }

  #markSkipped(step: StepRuntime, reason: string): void {
    step.record.state = 'skipped'
    step.record.reason = reason
    step.record.finishedAt = Date.now()
    this.#finalSteps++
    this.#journal.putStep(this.id, step.record)
    this.#emit(step, 'skipped', `${step.plan.id} skipped (${reason})`)
  }

  /** Cancels a step's in-flight tasks and drops the items not launched yet. */
  #cancelItems(step: StepRuntime, reason: string): Promise<unknown>[] {
    const cancels: Promise<unknown>[] = []
    for (const item of step.items) {
      if (FINAL_ITEM_STATES.has(item.state)) continue
      item.cancelRequested = true
      if (item.launched && item.taskId != null) {
        const taskId = item.taskId
        cancels.push(
          this.#queue.cancel(taskId, reason).catch((err: unknown) => {
            log('cancelling task %s: %s', taskId, errorMessage(err))
          })
        )
      }
      item.state = 'cancelled'
      item.finishedAt = Date.now()
      if (item.launched) this.#inFlight--
      step.finished++
      if (step.forEach) {
        this.#journal.putItem(this.id, step.plan.id, {
          index: item.index,
          state: 'cancelled',
          taskId: item.taskId,
          worker: item.worker,
          attempts: item.attempts,
          finishedAt: item.finishedAt
        })
      }
    }
    return cancels
  }

  /** fail-fast, workflow_cancel and the workflow deadline: cancel what runs, skip what waits, then finish. */
  async #abort(state: 'failed' | 'cancelled', message: string): Promise<void> {
    if (this.#ending || this.finished) return
    this.#ending = true
    const cancels: Promise<unknown>[] = []
    const skipReason = state === 'cancelled' ? 'the workflow was cancelled' : `the workflow failed (${message})`
    for (const id of this.plan.order) {
      const step = this.#steps.get(id)!
      if (step.record.state === 'pending') this.#markSkipped(step, skipReason)
      else if (step.record.state === 'running') {
        cancels.push(...this.#cancelItems(step, state === 'cancelled' ? message : skipReason))
        this.#stepFinished(step, 'cancelled', { reason: skipReason })
      }
    }
    await Promise.all(cancels)
    this.#finish(state, state === 'failed' ? message : undefined)
  }

  #checkDone(): void {
    if (this.#ending || this.finished || this.#stopped) return
    if (this.#finalSteps < this.#steps.size) return
    const failed = [...this.#steps.values()].filter((step) => step.record.state === 'failed')
    if (failed.length === 0) this.#finish('succeeded')
    else
      this.#finish(
        'failed',
        `${failed.length} step${failed.length === 1 ? '' : 's'} failed: ${failed.map((s) => `"${s.plan.id}"`).join(', ')}`
      )
  }

  #finish(state: WorkflowState, error?: string): void {
    if (this.finished || this.#stopped) return
    clearTimeout(this.#timer)
    const now = Date.now()
    const counts: Partial<Record<StepState, number>> = {}
    for (const step of this.#steps.values()) counts[step.record.state] = (counts[step.record.state] ?? 0) + 1
    this.record.state = state
    this.record.finishedAt = now
    this.record.updatedAt = now
    this.record.counts = counts
    if (error != null) this.record.error = error
    this.#journal.putRecord(this.record)
    this.#emit(undefined, state, `workflow ${state}${error != null ? `: ${error}` : ''}`)
    this.#resolveDone()
    this.#onFinished(this)
  }
}
