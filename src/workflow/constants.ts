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
/** Tasks in flight are re-checked this often, in case a queue event was missed. */
export const RECONCILE_INTERVAL_MS = 2 * second

/** A step id: starts with a letter or `_`, no dots (they separate reference paths). */
export const STEP_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/
export const WORKFLOW_ID_PATTERN = /^wf-[0-9a-f]{16}$/

/** Labels every workflow task carries, so queue events route back to their step. */
export const LABEL_WORKFLOW = 'workflowId'
export const LABEL_STEP = 'stepId'
export const LABEL_ITEM = 'item'
