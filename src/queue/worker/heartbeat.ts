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

/** One ticker per heartbeat interval, shared by every pushed task running here with that interval. */
const tickers = new Map<number, { timer: NodeJS.Timeout; beats: Set<() => void> }>()

/**
 * Heartbeats a pushed task as progress notifications on its tools/call.
 * Returns the stop function. Tasks share one interval timer per heartbeat
 * interval (not one each): a task's first beat comes within one interval of
 * its start, then one per interval.
 */
export function heartbeatPushed(leaseMs: number, reportProgress: (progress: ToolProgress) => void): () => void {
  const interval = heartbeatIntervalMs(leaseMs, HEARTBEAT_FLOOR_MS)
  let beats = 0
  const beat = (): void => reportProgress({ progress: ++beats, message: 'heartbeat' })
  let ticker = tickers.get(interval)
  if (ticker == null) {
    const created = { beats: new Set<() => void>(), timer: setInterval(() => created.beats.forEach(call), interval) }
    created.timer.unref()
    tickers.set(interval, created)
    ticker = created
  }
  const { beats: set } = ticker
  set.add(beat)
  return () => {
    if (!set.delete(beat) || set.size > 0 || tickers.get(interval)?.beats !== set) return
    clearInterval(tickers.get(interval)!.timer)
    tickers.delete(interval)
  }
}

/** One task's beat; a failing one does not keep the others from beating. */
function call(beat: () => void): void {
  try {
    beat()
  } catch (err) {
    log('heartbeat failed: %s', errorMessage(err))
  }
}
