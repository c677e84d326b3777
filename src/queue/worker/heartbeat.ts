import type { Client } from '@modelcontextprotocol/client'
import type { ToolProgress } from '../../tools/types.js'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { HEARTBEAT_FLOOR_MS, heartbeatIntervalMs, METHOD_HEARTBEAT } from '../constants.js'
import { heartbeatResult } from '../protocol.js'

const log = meshLogger('queue:worker')

/**
 * Heartbeats a claimed task to its owner over the heartbeat method; calls
 * `onRefused` when the owner no longer holds the lease or cancelled the task.
 * Returns the stop function.
 */
export function heartbeatClaim(
  client: Pick<Client, 'request'>,
  task: { id: string; token: string; leaseMs: number },
  onRefused: (reason: string) => void
): () => void {
  const timer = setInterval(
    () => {
      client
        .request({ method: METHOD_HEARTBEAT, params: { taskId: task.id, token: task.token } }, heartbeatResult, {
          timeout: task.leaseMs
        })
        .then((beat) => {
          if (!beat.ok || beat.cancel) onRefused(beat.cancel ? 'cancelled by its owner' : 'lease no longer held')
        })
        .catch((err: unknown) => log('heartbeat for %s failed: %s', task.id, errorMessage(err)))
    },
    heartbeatIntervalMs(task.leaseMs, HEARTBEAT_FLOOR_MS)
  )
  timer.unref()
  return () => clearInterval(timer)
}

/** Heartbeats a pushed task as progress notifications on its tools/call. Returns the stop function. */
export function heartbeatPushed(leaseMs: number, reportProgress: (progress: ToolProgress) => void): () => void {
  let beats = 0
  const timer = setInterval(
    () => reportProgress({ progress: ++beats, message: 'heartbeat' }),
    heartbeatIntervalMs(leaseMs, HEARTBEAT_FLOOR_MS)
  )
  timer.unref()
  return () => clearInterval(timer)
}
