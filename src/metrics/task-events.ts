import { Counter, Histogram, type Registry } from 'prom-client'
import { FINAL_STATES, type Task } from '../queue/index.js'
import { DURATION_BUCKETS_SECONDS, METRIC_PREFIX } from './constants.js'

/** Label of a task that is a workflow step (the workflow engine sets it). */
const WORKFLOW_LABEL = 'workflowId'

interface Seen {
  started: number
  finished: number
}

/**
 * Counts from the queue's `task` events (read-only: the queue dispatches
 * them for every state change): attempts by outcome, lease expiries,
 * retries, finished tasks and workflow steps by state, task latency.
 */
export class TaskEventCounters {
  readonly #attempts: Counter<'outcome'>
  readonly #leaseExpiries: Counter
  readonly #retries: Counter
  readonly #finished: Counter<'state'>
  readonly #steps: Counter<'state'>
  readonly #duration: Histogram<'state'>
  readonly #seen = new Map<string, Seen>()

  constructor(registry: Registry) {
    const registers = [registry]
    this.#attempts = new Counter({
      name: `${METRIC_PREFIX}task_attempts_total`,
      help: 'Finished task attempts, by outcome (succeeded, failed, lease-lost, cancelled, timeout, rejected).',
      labelNames: ['outcome'],
      registers
    })
    this.#leaseExpiries = new Counter({
      name: `${METRIC_PREFIX}task_lease_expiries_total`,
      help: 'Task attempts whose lease expired (the worker went silent).',
      registers
    })
    this.#retries = new Counter({
      name: `${METRIC_PREFIX}task_retries_total`,
      help: 'Task attempts started after a first one (retries and re-leases).',
      registers
    })
    this.#finished = new Counter({
      name: `${METRIC_PREFIX}tasks_finished_total`,
      help: 'Tasks that reached a final state, by state.',
      labelNames: ['state'],
      registers
    })
    this.#steps = new Counter({
      name: `${METRIC_PREFIX}workflow_steps_total`,
      help: 'Workflow step tasks that reached a final state, by state.',
      labelNames: ['state'],
      registers
    })
    this.#duration = new Histogram({
      name: `${METRIC_PREFIX}task_duration_seconds`,
      help: 'Time from submission to a final state, by state.',
      labelNames: ['state'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers
    })
  }

  observe(task: Task): void {
    const seen = this.#seen.get(task.id) ?? { started: 0, finished: 0 }
    for (; seen.started < task.history.length; seen.started++) {
      if (task.history[seen.started]!.attempt > 1) this.#retries.inc()
    }
    for (; seen.finished < task.history.length; seen.finished++) {
      const outcome = task.history[seen.finished]!.outcome
      if (outcome == null) break
      this.#attempts.inc({ outcome })
      if (outcome === 'lease-lost') this.#leaseExpiries.inc()
    }
    if (!FINAL_STATES.has(task.state)) {
      this.#seen.set(task.id, seen)
      return
    }
    this.#seen.delete(task.id)
    this.#finished.inc({ state: task.state })
    if (task.labels[WORKFLOW_LABEL] != null) this.#steps.inc({ state: task.state })
    const end = task.finishedAt ?? task.updatedAt
    this.#duration.observe({ state: task.state }, Math.max(0, end - task.createdAt) / 1000)
  }
}
