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
