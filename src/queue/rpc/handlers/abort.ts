import { ProtocolError } from '@modelcontextprotocol/server'
import type { z } from 'zod'
import type { PeerMethod } from '../../../mcp/front.js'
import { ERROR_CODE_DENIED } from '../../../mesh/index.js'
import type { TrustGate } from '../../../trust/index.js'
import { METHOD_ABORT } from '../../constants.js'
import { abortParams, type abortResult } from '../../protocol.js'
import type { TaskWorker } from '../../worker/task-worker.js'

/** What the abort handler needs of this node's worker and the trust gate. */
export interface AbortWorker {
  worker: Pick<TaskWorker, 'abort'>
  gate: Pick<TrustGate, 'checkPeer' | 'refused'>
}

/**
 * `mcp-mesh/task/abort`: the owner of a task this node runs (claimed or
 * pushed) cancelled it; the run is aborted. Runs are keyed by owner: a peer
 * can only name its own runs (another owner's task is "not running" for it),
 * and only with the run's lease token (a wrong token is denied and counted).
 */
export function abortHandler(host: AbortWorker): PeerMethod {
  return {
    method: METHOD_ABORT,
    params: abortParams,
    handler: async (params, ctx): Promise<z.infer<typeof abortResult>> => {
      const { taskId, token } = params as z.infer<typeof abortParams>
      const admitted = host.gate.checkPeer('task-abort', ctx.peerId)
      if (!admitted.allowed) throw new ProtocolError(ERROR_CODE_DENIED, `denied: ${admitted.reason}`)
      const outcome = host.worker.abort(ctx.peerId, taskId, token, `cancelled by its owner ${ctx.peerId}`)
      if (outcome === 'wrong-token') {
        const reason = `the token is not the lease of task ${taskId}`
        host.gate.refused('task-abort', 'denied', ctx.peerId, reason)
        throw new ProtocolError(ERROR_CODE_DENIED, `denied: ${reason}`)
      }
      return { aborted: outcome === 'aborted' }
    }
  }
}
