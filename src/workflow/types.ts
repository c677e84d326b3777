import type { JsonObject } from '../tools/types.js'
import type { WorkflowDocument } from './document.js'

export const WORKFLOW_STATES = ['running', 'succeeded', 'failed', 'cancelled'] as const
export type WorkflowState = (typeof WORKFLOW_STATES)[number]

export const STEP_STATES = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const
export type StepState = (typeof STEP_STATES)[number]
export const FINAL_STEP_STATES: ReadonlySet<StepState> = new Set(['succeeded', 'failed', 'skipped', 'cancelled'])

export type ItemState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled'

export const PROBLEM_CODES = [
  'schema',
  'duplicate-step',
  'unknown-dependency',
  'cycle',
  'missing-step',
  'missing-field',
  'missing-input',
  'bad-reference',
  'unknown-tool',
  'missing-argument',
  'bad-placement',
  'bad-foreach'
] as const
export type ProblemCode = (typeof PROBLEM_CODES)[number]

/** One reason a document was rejected. `message` always names the step (when there is one). */
export interface WorkflowProblem {
  code: ProblemCode
  message: string
  step?: string
  /** Where in the document, e.g. `steps[2].args.text`. */
  path?: string
  /** For `cycle`: the steps around the cycle, first step repeated at the end. */
  cycle?: string[]
}

/** The journaled state of a workflow (its document is stored once, separately). */
export interface WorkflowRecord {
  id: string
  name: string
  /** Peer ID of the node that owns (schedules) the workflow. */
  owner: string
  state: WorkflowState
  tags: string[]
  inputs: JsonObject
  stepCount: number
  createdAt: number
  updatedAt: number
  finishedAt?: number
  error?: string
  /** Set by workflow_cancel; a restart completes a cancellation that was under way. */
  cancelReason?: string
  /** Steps per final state, filled in when the workflow ends. */
  counts?: Partial<Record<StepState, number>>
}

/** The journaled state of one step. */
export interface StepRecord {
  id: string
  tool: string
  state: StepState
  startedAt?: number
  finishedAt?: number
  /** `forEach` steps: how many items the list resolved to. */
  items?: number
  /** Single-task steps: the task's id, worker and attempts. forEach items are journaled one key per item. */
  taskId?: string
  worker?: string
  attempts?: number
  /** The step's output: the tool's structured output, or for `forEach` the outputs in item order. */
  output?: unknown
  error?: string
  /** Why the step was skipped or cancelled. */
  reason?: string
}

/** One `forEach` item, journaled when it finishes. */
export interface ItemRecord {
  index: number
  state: ItemState
  taskId?: string
  worker?: string
  attempts?: number
  startedAt?: number
  finishedAt?: number
  output?: unknown
  error?: string
}

/** What workflow_status reports for a step. */
export interface StepStatus {
  id: string
  tool: string
  state: StepState
  dependsOn: string[]
  /** Workers that ran (or are running) the step's tasks: peer IDs, or 'local'. */
  peers: string[]
  taskIds: string[]
  attempts: number
  startedAt?: number
  finishedAt?: number
  durationMs?: number
  items?: { total: number; succeeded: number; failed: number; running: number; cancelled: number }
  error?: string
  reason?: string
}

export interface WorkflowStatus {
  workflowId: string
  name: string
  owner: string
  state: WorkflowState
  tags: string[]
  createdAt: number
  finishedAt?: number
  durationMs: number
  error?: string
  progress: WorkflowProgress
  steps: StepStatus[]
}

export interface WorkflowSummary {
  workflowId: string
  name: string
  state: WorkflowState
  tags: string[]
  steps: number
  createdAt: number
  finishedAt?: number
  error?: string
}

/** Progress as MCP progress notifications carry it. */
export interface WorkflowProgress {
  /** Finished steps, plus partial credit for running ones (see docs/workflows.md); rises with every step event. */
  progress: number
  total: number
  done: number
  running: string[]
  message: string
}

/** A step event, emitted by a running workflow. */
export interface WorkflowStepEvent {
  workflowId: string
  step?: string
  state: StepState | WorkflowState
  worker?: string
  item?: number
  progress: WorkflowProgress
  /** The whole workflow ended with this event. */
  final: boolean
}

export type { WorkflowDocument }
