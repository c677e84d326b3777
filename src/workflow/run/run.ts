import type { Task, TaskQueueApi } from '../../queue/types.js'
import type { JsonObject } from '../../tools/types.js'
import { errorMessage } from '../../util/errors.js'
import type { WorkflowJournal } from '../journal.js'
import type {
  ItemRecord,
  ItemState,
  StepRecord,
  StepState,
  WorkflowProgress,
  WorkflowRecord,
  WorkflowState,
  WorkflowStatus
} from '../types.js'
import type { WorkflowPlan } from '../validate.js'
import { cancelItems } from './cancel.js'
import { itemOutcome, LaunchQueue, taskSubmission } from './dispatch.js'
import { forEachValues, taskArgs } from './inputs.js'
import { progressOf, RunEvents, type StepEventListener, shortPeer, statusOf } from './progress.js'
import {
  FINAL_ITEM_STATES,
  type ItemRuntime,
  type RestoredState,
  RunState,
  type StepOutput,
  type StepRuntime
} from './state.js'

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

/**
 * One workflow being scheduled: steps start as soon as their dependencies
 * succeeded, each task (a step, or one forEach item) is submitted to the task
 * queue, and at most `maxParallel` tasks are in flight. Every state change is
 * journaled; `restore` rebuilds a run from the journal after a restart.
 * This file holds the state transitions; the state, dispatch to the queue,
 * input resolution, cancellation and reporting live beside it.
 */
export class WorkflowRun {
  readonly id: string
  readonly record: WorkflowRecord
  readonly plan: WorkflowPlan
  readonly #run: RunState
  readonly #events: RunEvents
  readonly #launches = new LaunchQueue()
  readonly #queue: TaskQueueApi
  readonly #journal: WorkflowJournal
  readonly #maxParallel: number
  readonly #maxForEachItems: number
  readonly #onFinished: (run: WorkflowRun) => void
  #timer?: NodeJS.Timeout
  readonly #done: Promise<void>
  #resolveDone!: () => void

  constructor(init: WorkflowRunInit) {
    this.id = init.record.id
    this.record = init.record
    this.plan = init.plan
    this.#run = new RunState(init.record, init.plan)
    this.#events = new RunEvents(this.#run)
    this.#queue = init.queue
    this.#journal = init.journal
    this.#maxParallel = init.maxParallel
    this.#maxForEachItems = init.maxForEachItems
    this.#onFinished = init.onFinished
    this.#done = new Promise<void>((resolve) => {
      this.#resolveDone = resolve
    })
  }

  get state(): WorkflowState {
    return this.record.state
  }

  get finished(): boolean {
    return this.#run.finished
  }

  /** Resolves when the workflow reaches a final state (or the run is stopped with the node). */
  get done(): Promise<void> {
    return this.#done
  }

  get inFlight(): number {
    return this.#run.inFlight
  }

  subscribe(listener: StepEventListener): () => void {
    return this.#events.subscribe(listener)
  }

  /** Starts a new workflow: journals it and launches the steps without dependencies. */
  start(): void {
    this.#journal.putDocument(this.id, this.plan.document)
    this.#journal.putRecord(this.record)
    for (const step of this.#run.steps.values()) this.#journal.putStep(this.id, step.record)
    this.#armTimer()
    for (const id of this.plan.order) {
      const step = this.#run.step(id)
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
    const steps = [...this.#run.steps.values()]
    for (const step of steps) {
      step.remaining = step.plan.deps.filter((dep) => this.#run.step(dep).record.state !== 'succeeded').length
    }
    this.#armTimer()
    if (this.record.cancelReason != null) {
      void this.#abort('cancelled', this.record.cancelReason)
      return
    }
    const failed = steps.filter((step) => step.record.state === 'failed')
    if (failed.length > 0 && this.plan.document.onFailure === 'fail-fast') {
      void this.#abort('failed', this.record.error ?? `step "${failed[0]!.plan.id}" failed: ${failed[0]!.record.error}`)
      return
    }
    for (const step of steps) {
      if (step.record.state === 'failed' || step.record.state === 'skipped' || step.record.state === 'cancelled') {
        this.#skipDependents(step, step.record.state === 'failed' ? 'failed' : 'was not run')
      }
    }
    for (const id of this.plan.order) {
      const step = this.#run.step(id)
      if (step.record.state === 'running') this.#begin(step, state.items.get(id) ?? [])
      else if (step.record.state === 'pending' && step.remaining === 0) this.#begin(step)
    }
    this.#pump()
    this.#checkDone()
  }

  /** Applies journaled step and item records, without scheduling anything (also used to view finished workflows). */
  load(state: RestoredState): void {
    this.#run.load(state)
  }

  /** Cancels the workflow: running steps' tasks are cancelled wherever they run, pending steps are skipped. */
  async cancel(reason: string): Promise<void> {
    if (this.finished || this.#run.ending) return
    this.record.cancelReason = reason
    this.#journal.putRecord(this.record)
    await this.#abort('cancelled', reason)
  }

  /** Detaches without touching tasks (the node is stopping); a restart resumes the run. */
  stop(): void {
    this.#run.stopped = true
    clearTimeout(this.#timer)
    this.#resolveDone()
  }

  /** A task changed state in the queue (routed here by its labels). */
  onTask(task: Task): void {
    if (this.#run.stopped || this.finished) return
    const found = this.#run.applyTask(task)
    if (found == null) return
    const { step, item } = found
    if (found.stepStarted) this.#journal.putStep(this.id, step.record)
    const outcome = itemOutcome(task, item.cancelRequested)
    if (outcome != null) this.#itemFinished(step, item, outcome.state, outcome.output, outcome.error)
  }

  /** Task ids in flight, for the periodic re-check against the queue. */
  inFlightTasks(): string[] {
    return this.#run.inFlightTasks()
  }

  /** Output of a succeeded step (for forEach: the outputs in item order). */
  stepOutput(id: string): StepOutput {
    return this.#run.stepOutput(id)
  }

  stepRecords(): StepRecord[] {
    return this.#run.stepRecords()
  }

  progress(event?: string): WorkflowProgress {
    return progressOf(this.#run, event)
  }

  status(): WorkflowStatus {
    return statusOf(this.#run)
  }

  #armTimer(): void {
    const timeoutMs = this.plan.document.timeoutMs
    if (timeoutMs == null) return
    const left = Math.max(0, this.record.createdAt + timeoutMs - Date.now())
    this.#timer = setTimeout(() => void this.#abort('failed', `workflow timed out after ${timeoutMs} ms`), left)
    this.#timer.unref()
  }

  /** Dependencies done: resolve forEach, create the step's items, and queue them for launch. */
  #begin(step: StepRuntime, restoredItems: ItemRecord[] = []): void {
    if (this.#run.ending) return
    const resumed = step.record.state === 'running'
    step.record.state = 'running'
    step.finished = 0
    step.next = 0
    step.record.startedAt ??= Date.now()
    this.#run.running.add(step.plan.id)
    let values: unknown[] = [undefined]
    if (step.forEach) {
      try {
        values = forEachValues(this.#run, step, this.#maxForEachItems)
      } catch (err) {
        this.#stepFinished(step, 'failed', { error: errorMessage(err) })
        return
      }
      step.record.items = values.length
    }
    this.#run.createItems(step, values, restoredItems, resumed)
    this.#journal.putStep(this.id, step.record)
    if (step.items.length === 0) {
      this.#stepFinished(step, 'succeeded', { output: [] })
      return
    }
    if (step.finished === step.items.length) {
      this.#completeFromItems(step)
      return
    }
    this.#launches.push(step)
    this.#events.emit(step, 'running', `${step.plan.id} started${step.forEach ? ` (${step.items.length} items)` : ''}`)
  }

  #pump(): void {
    const run = this.#run
    this.#launches.pump(
      () => !run.ending && !run.stopped && run.inFlight < this.#maxParallel,
      (step, item) => this.#launch(step, item)
    )
  }

  #launch(step: StepRuntime, item: ItemRuntime): void {
    let args: JsonObject
    try {
      args = taskArgs(this.#run, step, item)
    } catch (err) {
      this.#itemFinished(step, item, 'failed', undefined, errorMessage(err))
      return
    }
    item.launched = true
    this.#run.inFlight++
    this.#queue.submit(taskSubmission(this.id, step, item, args)).then(
      ({ task }) => {
        if (this.#run.stopped) return
        if (item.cancelRequested && item.taskId == null) {
          item.taskId = task.id
          this.#queue.cancel(task.id, this.record.cancelReason ?? 'workflow ended').catch(() => {})
          return
        }
        this.onTask(task)
      },
      (err: unknown) => {
        if (this.#run.stopped) return
        this.#itemFinished(step, item, 'failed', undefined, `could not submit the task: ${errorMessage(err)}`)
      }
    )
  }

  #itemFinished(step: StepRuntime, item: ItemRuntime, state: ItemState, output?: unknown, error?: string): void {
    if (FINAL_ITEM_STATES.has(item.state)) return
    const record = this.#run.settleItem(step, item, state, output, error)
    if (record != null) this.#journal.putItem(this.id, step.plan.id, record)
    if (step.record.state === 'running') {
      if (state === 'failed') {
        const prefix = step.forEach ? `item ${item.index}: ` : ''
        this.#stepFinished(step, 'failed', { error: `${prefix}${error ?? 'failed'}` })
      } else if (step.finished === step.items.length) {
        this.#completeFromItems(step)
      } else if (step.forEach && state === 'succeeded') {
        const on = item.worker != null ? ` on ${shortPeer(item.worker)}` : ''
        this.#events.emit(step, 'running', `${step.plan.id} item ${item.index} succeeded${on}`, {
          item: item.index,
          worker: item.worker
        })
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
    if (!this.#run.finishStep(step, state, outcome)) return
    this.#journal.putStep(this.id, step.record)
    const worker = step.forEach ? undefined : step.items[0]?.worker
    const on = worker != null ? ` on ${shortPeer(worker)}` : ''
    const detail = state === 'failed' ? `: ${outcome.error}` : ''
    this.#events.emit(step, state, `${step.plan.id} ${state}${on}${detail}`, { worker })

    if (state === 'succeeded') {
      for (const id of step.plan.dependents) {
        const dependent = this.#run.step(id)
        dependent.remaining--
        if (dependent.remaining === 0 && dependent.record.state === 'pending') this.#begin(dependent)
      }
      return
    }
    if (state !== 'failed') return
    // The step failed: its other items stop, then the failure policy applies.
    cancelItems(this.#run, this.#queue, this.#journal, step, 'a sibling forEach item failed')
    if (this.#run.ending) return
    if (this.plan.document.onFailure === 'fail-fast') {
      void this.#abort('failed', `step "${step.plan.id}" failed: ${outcome.error ?? 'failed'}`)
    } else {
      this.#skipDependents(step, 'failed')
    }
  }

  /** With `continue`: every transitive dependent of `step` that has not started is skipped. */
  #skipDependents(step: StepRuntime, why: string): void {
    this.#run.pendingDependents(step, why, (dependent, reason) => this.#markSkipped(dependent, reason))
  }

  #markSkipped(step: StepRuntime, reason: string): void {
    this.#run.skipStep(step, reason)
    this.#journal.putStep(this.id, step.record)
    this.#events.emit(step, 'skipped', `${step.plan.id} skipped (${reason})`)
  }

  /** fail-fast, workflow_cancel and the workflow deadline: cancel what runs, skip what waits, then finish. */
  async #abort(state: 'failed' | 'cancelled', message: string): Promise<void> {
    if (this.#run.ending || this.finished) return
    this.#run.ending = true
    const cancels: Promise<unknown>[] = []
    const skipReason = state === 'cancelled' ? 'the workflow was cancelled' : `the workflow failed (${message})`
    for (const id of this.plan.order) {
      const step = this.#run.step(id)
      if (step.record.state === 'pending') this.#markSkipped(step, skipReason)
      else if (step.record.state === 'running') {
        const reason = state === 'cancelled' ? message : skipReason
        cancels.push(...cancelItems(this.#run, this.#queue, this.#journal, step, reason))
        this.#stepFinished(step, 'cancelled', { reason: skipReason })
      }
    }
    await Promise.all(cancels)
    this.#finish(state, state === 'failed' ? message : undefined)
  }

  #checkDone(): void {
    const run = this.#run
    if (run.ending || run.finished || run.stopped) return
    const outcome = run.outcome()
    if (outcome != null) this.#finish(outcome.state, 'error' in outcome ? outcome.error : undefined)
  }

  #finish(state: WorkflowState, error?: string): void {
    if (this.finished || this.#run.stopped) return
    clearTimeout(this.#timer)
    this.#run.finishRecord(state, error)
    this.#journal.putRecord(this.record)
    this.#events.emit(undefined, state, `workflow ${state}${error != null ? `: ${error}` : ''}`)
    this.#resolveDone()
    this.#onFinished(this)
  }
}
