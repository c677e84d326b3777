import { MeshError } from '../util/errors.js'
import type { WorkflowProblem } from './types.js'

/** The document was rejected before anything ran; `problems` lists every error, each naming its step. */
export class WorkflowValidationError extends MeshError {
  static override readonly code = 'ERR_WORKFLOW_INVALID'
  readonly problems: WorkflowProblem[]

  constructor(problems: WorkflowProblem[]) {
    super(
      `workflow rejected, ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `- ${p.message}`).join('\n')}`
    )
    this.problems = problems
  }
}

export class UnknownWorkflowError extends MeshError {
  static override readonly code = 'ERR_UNKNOWN_WORKFLOW'
  constructor(readonly workflowId: string) {
    super(`no workflow "${workflowId}" on this node`)
  }
}

/** A reference could not be resolved when its step was about to run (e.g. the field is missing from the output). */
export class WorkflowReferenceError extends MeshError {
  static override readonly code = 'ERR_WORKFLOW_REFERENCE'
  constructor(
    readonly step: string,
    readonly expression: string,
    reason: string
  ) {
    super(`step "${step}": cannot resolve ${expression}: ${reason}`)
  }
}

/** `forEach` did not resolve to an array, or to too many items. */
export class WorkflowForEachError extends MeshError {
  static override readonly code = 'ERR_WORKFLOW_FOREACH'
  constructor(
    readonly step: string,
    reason: string
  ) {
    super(`step "${step}": forEach ${reason}`)
  }
}

/** The workflows subsystem needs the task queue, and this node has none. */
export class NoTaskQueueError extends MeshError {
  static override readonly code = 'ERR_NO_TASK_QUEUE'
  constructor() {
    super('workflows need the task queue, and this node has no "queue" subsystem')
  }
}

/** Waiting for a workflow gave up (the workflow itself keeps running). */
export class WorkflowWaitTimeoutError extends MeshError {
  static override readonly code = 'ERR_WORKFLOW_WAIT_TIMEOUT'
  constructor(
    readonly workflowId: string,
    readonly timeoutMs: number
  ) {
    super(`workflow ${workflowId} did not finish within ${timeoutMs} ms (it keeps running)`)
  }
}

/** The workflows subsystem is stopping or stopped. */
export class WorkflowServiceStoppedError extends MeshError {
  static override readonly code = 'ERR_WORKFLOW_SERVICE_STOPPED'
  constructor() {
    super('the workflow service is not running')
  }
}
