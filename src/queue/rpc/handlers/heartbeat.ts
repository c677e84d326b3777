import type { z } from 'zod'
import type { PeerMethod } from '../../../mcp/front.js'
import { METHOD_HEARTBEAT } from '../../constants.js'
import type { LeaseBook } from '../../owner/leases.js'
import type { StoredTask } from '../../owner/types.js'
import { heartbeatParams, type heartbeatResult } from '../../protocol.js'

/** What the heartbeat handler needs of the owner. */
export interface HeartbeatOwner {
  leases: Pick<LeaseBook, 'held' | 'renew'>
  task(id: string): StoredTask | undefined
}

/**
 * `mcp-mesh/task/heartbeat`: a pull worker renews its lease. Only the peer
 * holding the lease, with its token, renews it; anyone else is told the
 * lease is not held, and whether the task was cancelled (so it stops).
 * Heartbeats never carry a lease past the task's deadline.
 */
export function heartbeatHandler(owner: HeartbeatOwner): PeerMethod {
  return {
    method: METHOD_HEARTBEAT,
    params: heartbeatParams,
    handler: async (params, ctx): Promise<z.infer<typeof heartbeatResult>> => {
      const { taskId, token } = params as z.infer<typeof heartbeatParams>
      const lease = owner.leases.held(taskId, token, ctx.peerId)
      if (lease == null) return { ok: false, cancel: owner.task(taskId)?.state === 'cancelled' }
      // Past the task's deadline (timeout + grace) heartbeats no longer extend the lease; the sweep ends it.
      return { ok: owner.leases.renew(lease), cancel: false }
    }
  }
}
