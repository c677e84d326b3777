import type { Runtime } from '../tools/meta.js'

/**
 * Name patterns that route a tool the registry does not know to the mesh,
 * inherited from the Python prototype's naming conventions.
 */
export const DEFAULT_MESH_PATTERNS: readonly string[] = [
  'p2p_*',
  '*workflow*',
  '*taskqueue*',
  'task_*',
  'queue_*',
  'worker_*'
]

export const DEFAULT_RUNTIME: Runtime = 'local'

/** `_meta` key a caller sets on tools/call to force a runtime for that call. */
export const RUNTIME_OVERRIDE_META_KEY = 'mcp-mesh/runtime'

/**
 * A tool call's deadline counts as reached this close to it (Deadlines): the
 * shared timer fires by the event loop's millisecond clock, as a per-call
 * timer did, and would otherwise be re-armed for a fraction of a millisecond.
 */
export const DEADLINE_TOLERANCE_MS = 1
