import type { Datastore } from 'interface-datastore'
import type { TaskQueueApi } from '../../queue/types.js'
import type { WorkflowLimits } from '../constants.js'
import type { GraphFormat, WorkflowGraph } from '../graph.js'
import type { StepEventListener } from '../run/progress.js'
import type { WorkflowState, WorkflowSummary } from '../types.js'
import type { ToolShape } from '../validate.js'

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
