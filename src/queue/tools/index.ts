import type { Tool } from '../../tools/types.js'
import type { TaskQueueService } from '../service.js'
import { createQueueClearTool } from './queue-clear.js'
import { createQueuePauseTool } from './queue-pause.js'
import { createQueueResumeTool } from './queue-resume.js'
import { createQueueStatsTool } from './queue-stats.js'
import { createTaskCancelTool } from './task-cancel.js'
import { createTaskListTool } from './task-list.js'
import { createTaskPriorityTool } from './task-priority.js'
import { createTaskResultTool } from './task-result.js'
import { createTaskRetryTool } from './task-retry.js'
import { createTaskStatusTool } from './task-status.js'
import { createTaskSubmitTool } from './task-submit.js'
import { createWorkerRegisterTool } from './worker-register.js'
import { createWorkerStatusTool } from './worker-status.js'
import { createWorkerUnregisterTool } from './worker-unregister.js'

/** The 14 task-queue tools. */
export function createQueueTools(queue: TaskQueueService): Tool[] {
  return [
    createTaskSubmitTool(queue),
    createTaskStatusTool(queue),
    createTaskCancelTool(queue),
    createTaskListTool(queue),
    createTaskPriorityTool(queue),
    createTaskResultTool(queue),
    createQueueStatsTool(queue),
    createQueuePauseTool(queue),
    createQueueResumeTool(queue),
    createQueueClearTool(queue),
    createTaskRetryTool(queue),
    createWorkerRegisterTool(queue),
    createWorkerUnregisterTool(queue),
    createWorkerStatusTool(queue)
  ]
}
