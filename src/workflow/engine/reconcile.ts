import type { TaskQueueApi } from '../../queue/types.js'
import type { WorkflowRun } from '../run/run.js'

/**
 * Re-checks the tasks in flight of every live run against the queue, in
 * case a `task` event was missed: a task found final is handed to its run.
 */
export function reconcileRuns(queue: TaskQueueApi, runs: Iterable<WorkflowRun>): void {
  for (const run of runs) {
    for (const taskId of run.inFlightTasks()) {
      const task = queue.get(taskId)
      if (task != null && task.state !== 'queued' && task.state !== 'running') run.onTask(task)
    }
  }
}
