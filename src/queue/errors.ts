import { MeshError } from '../util/errors.js'

export class UnknownTaskError extends MeshError {
  static override readonly code = 'ERR_UNKNOWN_TASK'
  constructor(readonly taskId: string) {
    super(`unknown task "${taskId}"`)
  }
}

export class TaskAlreadyFinishedError extends MeshError {
  static override readonly code = 'ERR_TASK_FINISHED'
  constructor(
    readonly taskId: string,
    readonly state: string
  ) {
    super(`task "${taskId}" already finished (${state})`)
  }
}

export class IdempotencyConflictError extends MeshError {
  static override readonly code = 'ERR_IDEMPOTENCY_CONFLICT'
  constructor(
    readonly key: string,
    readonly taskId: string
  ) {
    super(`idempotencyKey "${key}" is already used by task ${taskId} with different arguments`)
  }
}

/** task_submit's arguments do not match the input schema known for the tool (a tool error, SEP-1303). */
export class InvalidTaskArgumentsError extends MeshError {
  static override readonly code = 'ERR_INVALID_TASK_ARGS'
  constructor(
    readonly tool: string,
    readonly problem: string
  ) {
    super(`invalid arguments for tool "${tool}": ${problem}`)
  }
}

export class NoWorkerError extends MeshError {
  static override readonly code = 'ERR_NO_WORKER'
  constructor(readonly tool: string) {
    super(`no worker offers tool "${tool}"`)
  }
}

export class ConfirmationRequiredError extends MeshError {
  static override readonly code = 'ERR_CONFIRMATION_REQUIRED'
}

export class TaskNotQueuedError extends MeshError {
  static override readonly code = 'ERR_TASK_NOT_QUEUED'
  constructor(
    readonly taskId: string,
    readonly state: string
  ) {
    super(`task "${taskId}" is ${state}; only a queued task can change priority`)
  }
}

export class TaskNotRetryableError extends MeshError {
  static override readonly code = 'ERR_TASK_NOT_RETRYABLE'
  constructor(
    readonly taskId: string,
    readonly state: string
  ) {
    super(`task "${taskId}" is ${state}; only a failed, dead or cancelled task can be retried`)
  }
}

export class WaitTimeoutError extends MeshError {
  static override readonly code = 'ERR_WAIT_TIMEOUT'
}
