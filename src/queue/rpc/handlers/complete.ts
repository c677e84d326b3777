import type { CallToolResult } from '@modelcontextprotocol/server'
import type { z } from 'zod'
import type { PeerMethod } from '../../../mcp/front.js'
import { METHOD_COMPLETE } from '../../constants.js'
import type { LeaseBook } from '../../owner/leases.js'
import { completeParams, type completeResult } from '../../protocol.js'

/** What the complete handler needs of the owner. */
export interface CompleteOwner {
  leases: Pick<LeaseBook, 'held' | 'notExecuted' | 'settle'>
}

/**
 * `mcp-mesh/task/complete`: a pull worker reports a result. Accepted only
 * from the peer holding the lease, with its token; `notExecuted` requeues
 * the task without spending an attempt.
 */
export function completeHandler(owner: CompleteOwner): PeerMethod {
  return {
    method: METHOD_COMPLETE,
    params: completeParams,
    handler: async (params, ctx): Promise<z.infer<typeof completeResult>> => {
      const { taskId, token, result, notExecuted } = params as z.infer<typeof completeParams>
      if (owner.leases.held(taskId, token, ctx.peerId) == null) return { accepted: false }
      if (notExecuted != null) owner.leases.notExecuted(taskId, token, notExecuted, ctx.peerId)
      else owner.leases.settle(taskId, token, { result: result as CallToolResult })
      return { accepted: true }
    }
  }
}
