import { ProtocolError } from '@modelcontextprotocol/server'
import type { z } from 'zod'
import type { PeerMethod } from '../../../mcp/front.js'
import { ERROR_CODE_BUSY } from '../../../mesh/index.js'
import { KeyedCounter } from '../../../util/counter.js'
import { HEARTBEAT_FLOOR_MS, heartbeatIntervalMs, MAX_ATTACHES_PER_TASK, METHOD_ATTACH } from '../../constants.js'
import { attachParams, type attachResult } from '../../protocol.js'
import type { TaskWorker } from '../../worker/task-worker.js'

/** What the attach handler needs of this node's worker. */
export interface AttachWorker {
  worker: Pick<TaskWorker, 'attach'>
  /** The lease length, for the progress heartbeats sent while the task still runs. */
  readonly leaseMs: number
}

/**
 * `mcp-mesh/task/attach`: a restarted owner asks for the result of a task it
 * had pushed here, waiting while it still runs (progress notifications keep
 * its new lease alive). Answered only to the task's owner (runs are keyed by
 * owner), with the task's lease token; anything else is `unknown`. At most
 * MAX_ATTACHES_PER_TASK attaches of an owner for one task are open at once;
 * more are refused as busy (nothing waits).
 */
export function attachHandler(host: AttachWorker): PeerMethod {
  const open = new KeyedCounter()
  return {
    method: METHOD_ATTACH,
    params: attachParams,
    handler: async (params, ctx): Promise<z.infer<typeof attachResult>> => {
      const { taskId, token } = params as z.infer<typeof attachParams>
      const key = `${ctx.peerId}\u0000${taskId}`
      if (open.get(key) >= MAX_ATTACHES_PER_TASK) {
        throw new ProtocolError(
          ERROR_CODE_BUSY,
          `busy: ${MAX_ATTACHES_PER_TASK} attach requests for task ${taskId} are open already`
        )
      }
      open.increment(key)
      const progressToken = ctx.progressToken
      // Heartbeats while waiting keep the restarted owner's new lease alive.
      const beat =
        progressToken != null
          ? setInterval(
              () => {
                void ctx.notify('notifications/progress', { progressToken, progress: Date.now() }).catch(() => {})
              },
              heartbeatIntervalMs(host.leaseMs, HEARTBEAT_FLOOR_MS)
            )
          : undefined
      try {
        // Only the owner's own run, with its lease token: anyone else learns nothing.
        const result = await host.worker.attach(taskId, token, ctx.signal, ctx.peerId)
        return result == null ? { state: 'unknown' } : { state: 'finished', result }
      } finally {
        clearInterval(beat)
        open.decrement(key)
      }
    }
  }
}
