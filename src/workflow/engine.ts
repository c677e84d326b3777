import { randomBytes } from 'node:crypto'
import type { Datastore } from 'interface-datastore'
import type { Task, TaskQueueApi } from '../queue/types.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import {
  DEFAULT_MAX_FINISHED,
  DEFAULT_MAX_FOREACH_ITEMS,
  DEFAULT_MAX_PARALLEL,
  DEFAULT_MAX_STEPS,
  DEFAULT_RETENTION_MS,
  hour,
  LABEL_WORKFLOW,
  RECONCILE_INTERVAL_MS
} from './constants.js'
import { NoTaskQueueError, UnknownWorkflowError, WorkflowValidationError, WorkflowWaitTimeoutError } from './errors.js'
import { type GraphFormat, renderGraph, type WorkflowGraph } from './graph.js'
import { WorkflowJournal } from './journal.js'
import { resolveValue } from './refs.js'
import type { StepEventListener } from './run/progress.js'
import { WorkflowRun } from './run/run.js'
import type {
  ItemRecord,
  StepRecord,
  WorkflowRecord,
  WorkflowState,
  WorkflowStatus,
  WorkflowStepEvent,
  WorkflowSummary
} from './types.js'
import { type ToolShape, type ValidationResult, validateWorkflow, type WorkflowPlan } from './validate.js'

const log = meshLogger('workflow')

export interface WorkflowLimits {
  defaultMaxParallel: number
  maxSteps: number
  maxForEachItems: number
  /** Finished workflows are deleted from the journal after this long. */
  retentionMs: number
  /** At most this many finished workflows are kept. */
  maxFinished: number
}

export const DEFAULT_LIMITS: WorkflowLimits = {
  defaultMaxParallel: DEFAULT_MAX_PARALLEL,
  maxSteps: DEFAULT_MAX_STEPS,
  maxForEachItems: DEFAULT_MAX_FOREACH_ITEMS,
  retentionMs: DEFAULT_RETENTION_MS,
  maxFinished: DEFAULT_MAX_FINISHED
}

export interface WorkflowEngineInit {
  /** The node's task queue; absent only in tests (submitting then fails with NoTaskQueueError). */
  queue?: TaskQueueApi
  datastore: Datastore
  /** This node's peer ID (the owner of the workflows it schedules). */
  owner: string
  /** Looks a tool up in the local + mesh catalog, for validation. */
  describeTool?: (name: string) => ToolShape | undefined
  limits?: Partial<WorkflowLimits>
}

export interface SubmitOptions {
  inputs?: Record<string, unknown>
  allowUnknownTools?: boolean
  signal?: AbortSignal
}

export interface WaitOptions {
  signal?: AbortSignal
  timeoutMs?: number
  /** Every step event until the workflow ends (the first call reports the current progress). */
  onEvent?: StepEventListener
}

export interface ListFilter {
  state?: WorkflowState | WorkflowState[]
  tag?: string
  name?: string
}

export interface WorkflowPage {
  workflows: WorkflowSummary[]
  total: number
  nextCursor?: string
}

export interface WorkflowResult {
  workflowId: string
  state: WorkflowState
  /** The document's `output`, else the single last step's output (else an object of the last steps' outputs); only when succeeded. */
  final?: unknown
  /** Every succeeded step's output, by step id (`which: 'all'`). */
  outputs?: Record<string, unknown>
  /** Error per failed step. */
  errors?: Record<string, string>
  error?: string
}

/** Graph of a workflow, with per-step state when it is a submitted one. */
export interface GraphView extends WorkflowGraph {
  format: GraphFormat
  text?: string
}

function newWorkflowId(): string {
  return `wf-${randomBytes(8).toString('hex')}`
}

function summaryOf(record: WorkflowRecord): WorkflowSummary {
  return {
    workflowId: record.id,
    name: record.name,
    state: record.state,
    tags: record.tags,
    steps: record.stepCount,
    createdAt: record.createdAt,
    finishedAt: record.finishedAt,
    error: record.error
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted')
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
    const states =
      filter.state == null ? undefined : new Set(Array.isArray(filter.state) ? filter.state : [filter.state])
    const matching = [...this.#records.values()]
      .filter(
        (record) =>
          (states == null || states.has(record.state)) &&
          (filter.tag == null || record.tags.includes(filter.tag)) &&
          (filter.name == null || record.name === filter.name)
      )
      .sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id))
    let start = 0
    if (page.cursor != null) {
      const [at, id] = Buffer.from(page.cursor, 'base64url').toString('utf8').split(':')
      const createdAt = Number(at)
      start = matching.findIndex(
        (r) => r.createdAt < createdAt || (r.createdAt === createdAt && r.id.localeCompare(id ?? '') > 0)
      )
      if (start < 0) start = matching.length
    }
    const limit = page.limit ?? 50
    const slice = matching.slice(start, start + limit)
    const last = slice[slice.length - 1]
    const more = start + limit < matching.length && last != null
    return {
      workflows: slice.map((record) => {
        const summary = summaryOf(record)
        return summary
      }),
      total: matching.length,
      nextCursor: more ? Buffer.from(`${last.createdAt}:${last.id}`).toString('base64url') : undefined
    }
  }

  /**
   * Resolves with the workflow's status once it is final. A timeout rejects
   * with WorkflowWaitTimeoutError (the workflow keeps running).
   */
  async wait(id: string, options: WaitOptions = {}): Promise<WorkflowStatus> {
    options.signal?.throwIfAborted()
    const run = this.#runs.get(id)
    if (run == null) return this.status(id, options)
    const unsubscribe = options.onEvent != null ? run.subscribe(options.onEvent) : undefined
    if (options.onEvent != null) {
      const progress = run.progress()
      options.onEvent({ workflowId: id, state: run.state, progress, final: false })
    }
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    try {
      await Promise.race([
        run.done,
        new Promise<never>((_, reject) => {
          if (options.timeoutMs != null) {
            timer = setTimeout(() => reject(new WorkflowWaitTimeoutError(id, options.timeoutMs!)), options.timeoutMs)
          }
          if (options.signal != null) {
            const signal = options.signal
            onAbort = () => reject(abortError(signal))
            signal.addEventListener('abort', onAbort, { once: true })
          }
        })
      ])
    } finally {
      clearTimeout(timer)
      if (onAbort != null) options.signal?.removeEventListener('abort', onAbort)
      unsubscribe?.()
    }
    return run.status()
  }

  /** Outputs of a workflow: the final one, or every step's (`which: 'all'`). */
  async result(
    id: string,
    which: 'final' | 'all' = 'final',
    options: { signal?: AbortSignal } = {}
  ): Promise<WorkflowResult> {
    const run = await this.#view(id, options)
    const out: WorkflowResult = { workflowId: id, state: run.state }
    if (run.record.error != null) out.error = run.record.error
    const errors: Record<string, string> = {}
    for (const step of run.stepRecords()) if (step.state === 'failed') errors[step.id] = step.error ?? 'failed'
    if (Object.keys(errors).length > 0) out.errors = errors
    if (which === 'all') {
      const outputs: Record<string, unknown> = {}
      for (const step of run.stepRecords()) if (step.state === 'succeeded') outputs[step.id] = step.output ?? null
      out.outputs = outputs
    }
    if (run.state === 'succeeded') out.final = this.#finalOutput(run)
    return out
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
      graph = this.#graphOf(run.plan, (id) => ({ state: byId.get(id)?.state, peers: byId.get(id)?.peers }))
    } else {
      const validation = this.validate(source.document, options)
      if (!validation.ok) throw new WorkflowValidationError(validation.problems)
      graph = this.#graphOf(validation.plan, () => ({}))
    }
    return { format, ...graph, text: renderGraph(graph, format) }
  }

  /** Events of a running workflow; returns the unsubscribe function (a no-op for a finished one). */
  subscribe(id: string, listener: (event: WorkflowStepEvent) => void): () => void {
    return this.#runs.get(id)?.subscribe(listener) ?? (() => {})
  }

  /** Deletes finished workflows older than the retention, or beyond the count limit. */
  async prune(now = Date.now()): Promise<number> {
    const finished = [...this.#records.values()]
      .filter((record) => record.state !== 'running')
      .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0))
    const doomed = finished.filter(
      (record, index) => index >= this.limits.maxFinished || (record.finishedAt ?? 0) < now - this.limits.retentionMs
    )
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

  #graphOf(plan: WorkflowPlan, extra: (id: string) => { state?: string; peers?: string[] }): WorkflowGraph {
    return {
      name: plan.document.name,
      nodes: plan.steps.map((step) => {
        const more = extra(step.id)
        const node: WorkflowGraph['nodes'][number] = { id: step.id, tool: step.tool }
        if (step.forEach != null) node.forEach = true
        if (more.state != null) node.state = more.state
        if (more.peers != null && more.peers.length > 0) node.peers = more.peers
        return node
      }),
      edges: plan.steps.flatMap((step) => step.deps.map((dep) => ({ from: dep, to: step.id })))
    }
  }

  #finalOutput(run: WorkflowRun): unknown {
    const document = run.plan.document
    if (document.output !== undefined) {
      try {
        return resolveValue(document.output, {
          step: '(output)',
          stepOutput: (id) => run.stepOutput(id),
          inputs: run.plan.inputs,
          workflow: { id: run.id, name: run.record.name }
        })
      } catch (err) {
        return { error: errorMessage(err) }
      }
    }
    const sinks = run.plan.sinks
    if (sinks.length === 1) {
      const only = run.stepOutput(sinks[0]!)
      return only.ok ? only.value : null
    }
    const out: Record<string, unknown> = {}
    for (const id of sinks) {
      const output = run.stepOutput(id)
      out[id] = output.ok ? output.value : null
    }
    return out
  }

  #requireQueue(): TaskQueueApi {
    this.#attachQueue()
    if (this.#queue == null) throw new NoTaskQueueError()
    return this.#queue
  }

  #attachQueue(): void {
    if (this.#queue != null || !this.#started) return
    const queue = this.#init.queue
    if (queue == null) return
    this.#queue = queue
    queue.addEventListener('task', this.#onTask)
  }

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
    while (this.#recent.size > 64) this.#recent.delete(this.#recent.keys().next().value!)
  }

  async #loadState(
    record: WorkflowRecord,
    options: { signal?: AbortSignal }
  ): Promise<{ plan: WorkflowPlan; steps: StepRecord[]; items: Map<string, ItemRecord[]> }> {
    const document = await this.journal.document(record.id, options)
    // Structure only: after a restart the mesh catalog is still filling, so tools are not checked again.
    const validation = validateWorkflow(document, { inputs: record.inputs })
    if (!validation.ok) {
      throw new Error(`journaled document is invalid: ${validation.problems.map((p) => p.message).join('; ')}`)
    }
    const steps = await this.journal.steps(record.id, options)
    const items = new Map<string, ItemRecord[]>()
    for (const step of validation.plan.steps) {
      if (step.forEach != null) items.set(step.id, await this.journal.items(record.id, step.id, options))
    }
    return { plan: validation.plan, steps, items }
  }

  async #resume(record: WorkflowRecord, options: { signal?: AbortSignal }): Promise<void> {
    const queue = this.#requireQueue()
    const { plan, steps, items } = await this.#loadState(record, options)
    const run = this.#createRun(record, plan, queue)
    this.#runs.set(record.id, run)
    const done = steps.filter((step) => step.state === 'succeeded').length
    log('resuming workflow %s (%s): %d/%d steps already succeeded', record.id, record.name, done, plan.steps.length)
    run.restore({ steps, items })
  }

  /** A run for reading: the live one, a recent one, or one rebuilt from the journal. */
  async #view(id: string, options: { signal?: AbortSignal }): Promise<WorkflowRun> {
    const live = this.#runs.get(id) ?? this.#recent.get(id)
    if (live != null) return live
    const record = this.#records.get(id) ?? (await this.journal.record(id, options))
    if (record == null) throw new UnknownWorkflowError(id)
    const { plan, steps, items } = await this.#loadState(record, options)
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

  /** Re-checks tasks in flight, in case a queue event was missed. */
  #reconcile(): void {
    const queue = this.#queue
    if (queue == null) return
    for (const run of this.#runs.values()) {
      for (const taskId of run.inFlightTasks()) {
        const task = queue.get(taskId)
        if (task != null && task.state !== 'queued' && task.state !== 'running') run.onTask(task)
      }
    }
  }
}

/** A queue stand-in for read-only views of finished workflows. */
const NO_QUEUE: TaskQueueApi = {
  submit: async () => {
    throw new NoTaskQueueError()
  },
  get: () => undefined,
  list: () => ({ tasks: [], total: 0 }),
  cancel: async () => {
    throw new NoTaskQueueError()
  },
  waitFor: async () => {
    throw new NoTaskQueueError()
  },
  addEventListener: () => {},
  removeEventListener: () => {}
}
