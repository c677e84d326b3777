import { randomBytes } from 'node:crypto'
import type { Task, TaskQueueApi } from '../../queue/types.js'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import {
  DEFAULT_LIMITS,
  hour,
  LABEL_WORKFLOW,
  RECENT_RUNS,
  RECONCILE_INTERVAL_MS,
  type WorkflowLimits
} from '../constants.js'
import { NoTaskQueueError, UnknownWorkflowError, WorkflowValidationError } from '../errors.js'
import { type GraphFormat, renderGraph, type WorkflowGraph } from '../graph.js'
import { WorkflowJournal } from '../journal.js'
import { WorkflowRun } from '../run/run.js'
import type { WorkflowRecord, WorkflowStatus, WorkflowStepEvent } from '../types.js'
import { type ValidationResult, validateWorkflow, type WorkflowPlan } from '../validate.js'
import type {
  GraphView,
  ListFilter,
  SubmitOptions,
  WaitOptions,
  WorkflowEngineInit,
  WorkflowPage,
  WorkflowResult
} from './options.js'
import { reconcileRuns } from './reconcile.js'
import { expiredRecords, loadJournaled, NO_QUEUE } from './recovery.js'
import { graphOf, listPage, resultOf } from './views.js'
import { waitForRun } from './wait.js'

const log = meshLogger('workflow')

function newWorkflowId(): string {
  return `wf-${randomBytes(8).toString('hex')}`
}

/**
 * Schedules workflows on the task queue and keeps their journal: submit,
 * status, cancel, list, dependencies and result. `start` resumes the
 * workflows a previous run of the node left unfinished.
 */
export class WorkflowEngine {
  readonly journal: WorkflowJournal
  readonly limits: WorkflowLimits
  readonly #init: WorkflowEngineInit
  /** Every journaled workflow (summary records), running or finished. */
  readonly #records = new Map<string, WorkflowRecord>()
  readonly #runs = new Map<string, WorkflowRun>()
  /** Recently finished runs, kept in memory for status and result (LRU). */
  readonly #recent = new Map<string, WorkflowRun>()
  /** The queue, while started. */
  #queue?: TaskQueueApi
  #reconcileTimer?: NodeJS.Timeout
  #retentionTimer?: NodeJS.Timeout
  #started = false
  readonly #onTask = (event: CustomEvent<Task>): void => {
    const task = event.detail
    const id = task.labels?.[LABEL_WORKFLOW]
    if (id == null) return
    this.#runs.get(id)?.onTask(task)
  }

  constructor(init: WorkflowEngineInit) {
    this.#init = init
    this.limits = { ...DEFAULT_LIMITS, ...init.limits }
    this.journal = new WorkflowJournal(init.datastore)
  }

  get activeCount(): number {
    return this.#runs.size
  }

  get started(): boolean {
    return this.#started
  }

  // ---- lifecycle and recovery -------------------------------------------

  /** Loads the journal and resumes unfinished workflows. Safe to call twice. */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#attachQueue()
    const records = await this.journal.records(options)
    for (const record of records) this.#records.set(record.id, record)
    for (const record of records.filter((r) => r.state === 'running')) {
      try {
        await this.#resume(record, options)
      } catch (err) {
        log.error('could not resume workflow %s: %s', record.id, errorMessage(err))
      }
    }
    await this.prune()
    this.#reconcileTimer = setInterval(() => this.#reconcile(), RECONCILE_INTERVAL_MS)
    this.#reconcileTimer.unref()
    this.#retentionTimer = setInterval(() => {
      this.prune().catch((err: unknown) => log.error('pruning finished workflows failed: %s', errorMessage(err)))
    }, hour)
    this.#retentionTimer.unref()
  }

  /** Detaches from the queue and flushes the journal; running workflows resume on the next start. */
  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    clearInterval(this.#reconcileTimer)
    clearInterval(this.#retentionTimer)
    this.#queue?.removeEventListener('task', this.#onTask)
    this.#queue = undefined
    for (const run of this.#runs.values()) run.stop()
    this.#runs.clear()
    this.#recent.clear()
    await this.journal.flush()
  }

  /** Deletes finished workflows older than the retention, or beyond the count limit. */
  async prune(now = Date.now()): Promise<number> {
    const doomed = expiredRecords(this.#records.values(), this.limits, now)
    for (const record of doomed) {
      this.#records.delete(record.id)
      this.#recent.delete(record.id)
      await this.journal.remove(record.id)
    }
    if (doomed.length > 0) log('pruned %d finished workflows', doomed.length)
    return doomed.length
  }

  stats(): { active: number; known: number; journal: WorkflowJournal['stats'] } {
    return { active: this.#runs.size, known: this.#records.size, journal: this.journal.stats }
  }

  /** Workflows known to this node, by state (one pass; for the metrics collector). */
  countsByState(): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const record of this.#records.values()) counts[record.state] = (counts[record.state] ?? 0) + 1
    return counts
  }

  #attachQueue(): void {
    if (this.#queue != null || !this.#started) return
    const queue = this.#init.queue
    if (queue == null) return
    this.#queue = queue
    queue.addEventListener('task', this.#onTask)
  }

  #requireQueue(): TaskQueueApi {
    this.#attachQueue()
    if (this.#queue == null) throw new NoTaskQueueError()
    return this.#queue
  }

  async #resume(record: WorkflowRecord, options: { signal?: AbortSignal }): Promise<void> {
    const queue = this.#requireQueue()
    const { plan, steps, items } = await loadJournaled(this.journal, record, options)
    const run = this.#createRun(record, plan, queue)
    this.#runs.set(record.id, run)
    const done = steps.filter((step) => step.state === 'succeeded').length
    log('resuming workflow %s (%s): %d/%d steps already succeeded', record.id, record.name, done, plan.steps.length)
    run.restore({ steps, items })
  }

  /** Re-checks tasks in flight, in case a queue event was missed. */
  #reconcile(): void {
    if (this.#queue != null) reconcileRuns(this.#queue, this.#runs.values())
  }

  // ---- public API --------------------------------------------------------

  validate(document: unknown, options: Omit<SubmitOptions, 'signal'> = {}): ValidationResult {
    return validateWorkflow(document, {
      describeTool: this.#init.describeTool,
      allowUnknownTools: options.allowUnknownTools,
      inputs: options.inputs,
      maxSteps: this.limits.maxSteps,
      maxForEachItems: this.limits.maxForEachItems
    })
  }

  /** Validates and starts a workflow; throws WorkflowValidationError listing every problem. */
  async submit(document: unknown, options: SubmitOptions = {}): Promise<WorkflowStatus> {
    options.signal?.throwIfAborted()
    const queue = this.#requireQueue()
    const validation = this.validate(document, options)
    if (!validation.ok) throw new WorkflowValidationError(validation.problems)
    const plan = validation.plan
    const now = Date.now()
    const record: WorkflowRecord = {
      id: newWorkflowId(),
      name: plan.document.name,
      owner: this.#init.owner,
      state: 'running',
      tags: plan.document.tags,
      inputs: plan.inputs,
      stepCount: plan.steps.length,
      createdAt: now,
      updatedAt: now
    }
    const run = this.#createRun(record, plan, queue)
    this.#records.set(record.id, record)
    this.#runs.set(record.id, run)
    log('workflow %s (%s) submitted: %d steps', record.id, record.name, plan.steps.length)
    run.start()
    return run.status()
  }

  async status(id: string, options: { signal?: AbortSignal } = {}): Promise<WorkflowStatus> {
    return (await this.#view(id, options)).status()
  }

  async cancel(id: string, reason = 'cancelled by workflow_cancel'): Promise<WorkflowStatus> {
    const run = this.#runs.get(id)
    if (run == null) return this.status(id)
    await run.cancel(reason)
    return run.status()
  }

  list(filter: ListFilter = {}, page: { cursor?: string; limit?: number } = {}): WorkflowPage {
    return listPage(this.#records.values(), filter, page)
  }

  /**
   * Resolves with the workflow's status once it is final. A timeout rejects
   * with WorkflowWaitTimeoutError (the workflow keeps running).
   */
  async wait(id: string, options: WaitOptions = {}): Promise<WorkflowStatus> {
    options.signal?.throwIfAborted()
    const run = this.#runs.get(id)
    if (run == null) return this.status(id, options)
    return waitForRun(run, options)
  }

  /** Outputs of a workflow: the final one, or every step's (`which: 'all'`). */
  async result(
    id: string,
    which: 'final' | 'all' = 'final',
    options: { signal?: AbortSignal } = {}
  ): Promise<WorkflowResult> {
    return resultOf(await this.#view(id, options), which)
  }

  /** The DAG of a submitted workflow (with step states), or of a document that is only validated. */
  async graph(
    source: { workflowId?: string; document?: unknown },
    format: GraphFormat,
    options: SubmitOptions = {}
  ): Promise<GraphView> {
    let graph: WorkflowGraph
    if (source.workflowId != null) {
      const run = await this.#view(source.workflowId, options)
      const status = run.status()
      const byId = new Map(status.steps.map((step) => [step.id, step]))
      graph = graphOf(run.plan, (id) => ({ state: byId.get(id)?.state, peers: byId.get(id)?.peers }))
    } else {
      const validation = this.validate(source.document, options)
      if (!validation.ok) throw new WorkflowValidationError(validation.problems)
      graph = graphOf(validation.plan, () => ({}))
    }
    return { format, ...graph, text: renderGraph(graph, format) }
  }

  /** Events of a running workflow; returns the unsubscribe function (a no-op for a finished one). */
  subscribe(id: string, listener: (event: WorkflowStepEvent) => void): () => void {
    return this.#runs.get(id)?.subscribe(listener) ?? (() => {})
  }

  // ---- runs --------------------------------------------------------------

  #createRun(record: WorkflowRecord, plan: WorkflowPlan, queue: TaskQueueApi): WorkflowRun {
    return new WorkflowRun({
      record,
      plan,
      queue,
      journal: this.journal,
      maxParallel: plan.document.maxParallel ?? this.limits.defaultMaxParallel,
      maxForEachItems: this.limits.maxForEachItems,
      onFinished: (run) => {
        this.#runs.delete(run.id)
        this.#remember(run)
        log('workflow %s %s', run.id, run.state)
        if (this.#records.size > this.limits.maxFinished * 1.1) {
          this.prune().catch((err: unknown) => log.error('pruning failed: %s', errorMessage(err)))
        }
      }
    })
  }

  #remember(run: WorkflowRun): void {
    this.#recent.delete(run.id)
    this.#recent.set(run.id, run)
    while (this.#recent.size > RECENT_RUNS) this.#recent.delete(this.#recent.keys().next().value!)
  }

  /** A run for reading: the live one, a recent one, or one rebuilt from the journal. */
  async #view(id: string, options: { signal?: AbortSignal }): Promise<WorkflowRun> {
    const live = this.#runs.get(id) ?? this.#recent.get(id)
    if (live != null) return live
    const record = this.#records.get(id) ?? (await this.journal.record(id, options))
    if (record == null) throw new UnknownWorkflowError(id)
    const { plan, steps, items } = await loadJournaled(this.journal, record, options)
    const run = new WorkflowRun({
      record,
      plan,
      queue: this.#queue ?? NO_QUEUE,
      journal: this.journal,
      maxParallel: 1,
      maxForEachItems: this.limits.maxForEachItems,
      onFinished: () => {}
    })
    run.load({ steps, items })
    if (record.state !== 'running') this.#remember(run)
    return run
  }
}
