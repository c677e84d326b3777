import type { Task, TaskPlacement, TaskSubmission } from '../../queue/types.js'
import type { JsonObject } from '../../tools/types.js'
import { LABEL_ITEM, LABEL_STEP, LABEL_WORKFLOW } from '../constants.js'
import type { StepPlacement } from '../document.js'
import { errorTextOf, outputOf } from '../output.js'
import type { ItemRuntime, StepRuntime } from './state.js'

/** Launched steps whose items wait for a free slot are compacted past this many. */
const LAUNCH_QUEUE_COMPACT = 256

/** A step's placement as the queue's: spread groups are scoped to the workflow. */
export function toTaskPlacement(
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

/**
 * The task of one item. Its idempotency key names the workflow, step and
 * item, so a resumed run re-submitting it gets the task the queue has; its
 * labels route the queue's events back to the item.
 */
export function taskSubmission(
  workflowId: string,
  step: StepRuntime,
  item: ItemRuntime,
  args: JsonObject
): TaskSubmission {
  const planned = step.plan
  const submission: TaskSubmission = {
    tool: planned.tool,
    args,
    idempotencyKey: `wf:${workflowId}:${planned.id}${step.forEach ? `:${item.index}` : ''}`,
    labels: { [LABEL_WORKFLOW]: workflowId, [LABEL_STEP]: planned.id, [LABEL_ITEM]: String(item.index) }
  }
  if (planned.priority != null) submission.priority = planned.priority
  if (planned.retry != null) submission.retry = planned.retry
  if (planned.timeoutMs != null) submission.timeoutMs = planned.timeoutMs
  const placement = toTaskPlacement(planned.placement, workflowId, planned.id)
  if (placement != null) submission.placement = placement
  return submission
}

export interface ItemOutcome {
  state: 'succeeded' | 'failed' | 'cancelled'
  output?: unknown
  error?: string
}

/**
 * What a final task means for its item; undefined while it is queued or
 * running. A tool error fails the item; a cancel the workflow did not ask
 * for fails it too.
 */
export function itemOutcome(task: Task, cancelRequested: boolean): ItemOutcome | undefined {
  switch (task.state) {
    case 'queued':
    case 'running':
      return undefined
    case 'succeeded':
      if (task.result?.isError === true) return { state: 'failed', error: errorTextOf(task.result) }
      return { state: 'succeeded', output: outputOf(task.result) }
    case 'failed':
    case 'dead':
      return {
        state: 'failed',
        error: task.error ?? (task.result != null ? errorTextOf(task.result) : `task ${task.state}`)
      }
    case 'cancelled':
      return {
        state: cancelRequested ? 'cancelled' : 'failed',
        error: `task was cancelled${task.error != null ? `: ${task.error}` : ''}`
      }
  }
}

/**
 * Steps whose items wait to be launched, first begun first served. `pump`
 * launches items while `canLaunch` allows (the run's maxParallel); a pump
 * requested while one runs (a launch that settles at once) loops again
 * instead of nesting.
 */
export class LaunchQueue {
  readonly #steps: StepRuntime[] = []
  #head = 0
  #pumping = false
  #again = false

  push(step: StepRuntime): void {
    this.#steps.push(step)
  }

  pump(canLaunch: () => boolean, launch: (step: StepRuntime, item: ItemRuntime) => void): void {
    if (this.#pumping) {
      this.#again = true
      return
    }
    this.#pumping = true
    try {
      do {
        this.#again = false
        while (canLaunch() && this.#head < this.#steps.length) {
          const step = this.#steps[this.#head]!
          if (step.record.state !== 'running' || step.next >= step.items.length) {
            this.#head++
            continue
          }
          const item = step.items[step.next++]!
          if (item.state !== 'pending') continue
          launch(step, item)
        }
        if (this.#head > LAUNCH_QUEUE_COMPACT) {
          this.#steps.splice(0, this.#head)
          this.#head = 0
        }
      } while (this.#again)
    } finally {
      this.#pumping = false
    }
  }
}
