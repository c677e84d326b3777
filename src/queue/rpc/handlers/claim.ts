import type { z } from 'zod'
import type { PeerMethod } from '../../../mcp/front.js'
import { METHOD_CLAIM } from '../../constants.js'
import { claimableBy } from '../../owner/placement.js'
import type { Lease, StoredTask } from '../../owner/types.js'
import { claimParams, type claimResult } from '../../protocol.js'

/** What the claim handler needs of the owner. */
export interface ClaimOwner {
  readonly leaseMs: number
  paused(): boolean
  task(id: string): StoredTask | undefined
  /** The task to grant instead of `claimed` (a better-ranked one of the same tool), or `claimed`. */
  bestClaimFor(claimed: StoredTask, peer: string): StoredTask
  /** Takes a queued task out of line and starts a pull attempt on `peer`. */
  lease(task: StoredTask, peer: string): Lease
}

/**
 * `mcp-mesh/task/claim`: a worker claims an announced task. Granted (with a
 * fresh lease token) only for a queued, ready task whose placement allows
 * the peer, while the queue is not paused.
 */
export function claimHandler(owner: ClaimOwner): PeerMethod {
  return {
    method: METHOD_CLAIM,
    params: claimParams,
    handler: async (params, ctx): Promise<z.infer<typeof claimResult>> => {
      const { taskId } = params as z.infer<typeof claimParams>
      const claimed = owner.task(taskId)
      if (claimed == null || claimed.state !== 'queued' || owner.paused() || claimed.runAt > Date.now()) {
        return { granted: false, reason: claimed == null ? 'unknown task' : `task is ${claimed.state}` }
      }
      if (!claimableBy(claimed, ctx.peerId)) {
        return { granted: false, reason: 'placement does not allow this peer' }
      }
      const task = owner.bestClaimFor(claimed, ctx.peerId)
      const lease = owner.lease(task, ctx.peerId)
      return {
        granted: true,
        task: {
          id: task.id,
          token: lease.token,
          tool: task.tool,
          args: task.args,
          timeoutMs: task.timeoutMs,
          leaseMs: owner.leaseMs
        }
      }
    }
  }
}
