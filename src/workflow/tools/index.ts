import type { Tool } from '../../tools/types.js'
import type { WorkflowEngine } from '../engine/engine.js'
import { createWorkflowCancelTool } from './cancel.js'
import { createWorkflowDependenciesTool } from './dependencies.js'
import { createWorkflowListTool } from './list.js'
import { createWorkflowResultTool } from './result.js'
import { createWorkflowStatusTool } from './status.js'
import { createWorkflowSubmitTool } from './submit.js'

/** The six workflow tools, as the workflow subsystem registers them. */
export function workflowTools(engine: WorkflowEngine): Tool[] {
  return [
    createWorkflowSubmitTool(engine),
    createWorkflowStatusTool(engine),
    createWorkflowCancelTool(engine),
    createWorkflowListTool(engine),
    createWorkflowDependenciesTool(engine),
    createWorkflowResultTool(engine)
  ]
}
