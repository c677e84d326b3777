import type { z } from 'zod'
import type { PeerMethod } from '../../../mcp/front.js'
import { METHOD_ABORT } from '../../constants.js'
import { abortParams, type abortResult } from '../../protocol.js'
import type { TaskWorker } from '../../worker/task-worker.js'

/** What the abort handler needs of this node's worker. */
export interface AbortWorker {
  worker: Pick<TaskWorker, 'abort'>
}

/** `mcp-mesh/task/abort`: the owner of a task this node claimed cancelled it; the run is aborted. */
export function abortHandler(host: AbortWorker): PeerMethod {
  return {
    method: METHOD_ABORT,
    params: abortParams,
    handler: async (params, ctx): Promise<z.infer<typeof abortResult>> => {
      const { taskId } = params as z.infer<typeof abortParams>
      return { aborted: host.worker.abort(taskId, `cancelled by its owner ${ctx.peerId}`) }
    }
  }
}
