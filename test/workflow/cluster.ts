import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/index.js'

/** Tool module of the workflow integration tests (exported tools that log each execution). */
export const WORKFLOW_TOOLS = join(REPO_ROOT, 'test', 'workflow', 'fixtures', 'workflow-tools.mjs')
/**
 * Fast catalog adverts, so tests wait on events rather than on the 5 s advert
 * period; a generous TTL, so a loaded machine does not drop a live peer.
 */
export const FAST_CATALOG = { catalog: { advertIntervalMs: 500, peerTtlMs: 10_000 } }
