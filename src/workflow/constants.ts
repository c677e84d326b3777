import { hour, second } from '../util/time.js'

export { hour, minute, second } from '../util/time.js'

/** The service's name in `mesh_status` and `mesh_health`. */
export const WORKFLOW_SUBSYSTEM = 'workflow'

/** Datastore prefix of the workflow journal. */
export const JOURNAL_PREFIX = '/mcp-mesh/workflows'

/** Steps of one workflow in flight at once (tasks, counting forEach items), unless the document says otherwise. */
export const DEFAULT_MAX_PARALLEL = 16
export const MAX_PARALLEL_LIMIT = 1_024
/** Largest document accepted: steps. */
export const DEFAULT_MAX_STEPS = 10_000
/** Largest fan-out of one `forEach` step. */
export const DEFAULT_MAX_FOREACH_ITEMS = 10_000
/** Whole-workflow deadline when the document sets none. */
export const DEFAULT_WORKFLOW_TIMEOUT_MS = 24 * hour
/** Finished workflows are kept this long, then deleted from the journal. */
export const DEFAULT_RETENTION_MS = 7 * 24 * hour
/** Finished workflows kept at most (oldest deleted first). */
export const DEFAULT_MAX_FINISHED = 1_000
/** Finished workflows the engine keeps in memory for status and result (the rest are read from the journal). */
export const RECENT_RUNS = 64
/** workflow_list page size when the caller gives none. */
export const DEFAULT_LIST_LIMIT = 50
/** Tasks in flight are re-checked this often, in case a queue event was missed. */
export const RECONCILE_INTERVAL_MS = 2 * second

/** A step id: starts with a letter or `_`, no dots (they separate reference paths). */
export const STEP_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/
export const WORKFLOW_ID_PATTERN = /^wf-[0-9a-f]{16}$/

/** Labels every workflow task carries, so queue events route back to their step. */
export const LABEL_WORKFLOW = 'workflowId'
export const LABEL_STEP = 'stepId'
export const LABEL_ITEM = 'item'

export interface WorkflowLimits {
  defaultMaxParallel: number
  maxSteps: number
  maxForEachItems: number
  /** Finished workflows are deleted from the journal after this long. */
  retentionMs: number
  /** At most this many finished workflows are kept. */
  maxFinished: number
}

export const DEFAULT_LIMITS: WorkflowLimits = {
  defaultMaxParallel: DEFAULT_MAX_PARALLEL,
  maxSteps: DEFAULT_MAX_STEPS,
  maxForEachItems: DEFAULT_MAX_FOREACH_ITEMS,
  retentionMs: DEFAULT_RETENTION_MS,
  maxFinished: DEFAULT_MAX_FINISHED
}
