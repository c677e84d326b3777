import type { TaskQueueApi } from '../../queue/types.js'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import type { WorkflowJournal } from '../journal.js'
import { FINAL_ITEM_STATES, type RunState, type StepRuntime } from './state.js'

const log = meshLogger('workflow:run')

/**
 * Cancels a step's in-flight tasks (wherever they run) and drops its items
 * not launched yet; every such item ends "cancelled" and is journaled.
 * Returns the queue's cancellations, which never reject.
 */
export function cancelItems(
  run: RunState,
  queue: TaskQueueApi,
  journal: WorkflowJournal,
  step: StepRuntime,
  reason: string
): Promise<unknown>[] {
  const cancels: Promise<unknown>[] = []
  for (const item of step.items) {
    if (FINAL_ITEM_STATES.has(item.state)) continue
    item.cancelRequested = true
    if (item.launched && item.taskId != null) {
      const taskId = item.taskId
      cancels.push(
        queue.cancel(taskId, reason).catch((err: unknown) => {
          log('cancelling task %s: %s', taskId, errorMessage(err))
        })
      )
    }
    item.state = 'cancelled'
    item.finishedAt = Date.now()
    if (item.launched) run.inFlight--
    step.finished++
    if (step.forEach) {
      journal.putItem(run.id, step.plan.id, {
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
