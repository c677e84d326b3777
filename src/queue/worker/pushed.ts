import { type CallToolResult, ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/server'
import { ERROR_CODE_BUSY, ERROR_CODE_DENIED } from '../../mesh/index.js'
import type { ViewCallContext } from '../../mcp/view.js'
import type { JsonObject } from '../../tools/types.js'
import type { TrustGate } from '../../trust/index.js'
import { meshLogger } from '../../util/logger.js'
import type { InboundTask } from '../protocol.js'
import { heartbeatPushed } from './heartbeat.js'
import type { TaskWorker } from './task-worker.js'

const log = meshLogger('queue:worker')

/**
 * Runs a task an owner pushed to this node (a tools/call carrying the lease
 * in `_meta`). Refused as BUSY (nothing ran) when this worker does not take
 * tasks for the tool, or when peers' share of its slots is full; DENIED when
 * the gate does not let the owner run the tool (the peer view asked it
 * already: this is the `task-push` path's own count). Heartbeats ride the
 * call as progress notifications.
 */
export async function executePushed(
  worker: Pick<TaskWorker, 'offers' | 'execute'>,
  gate: Pick<TrustGate, 'checkRun'>,
  call: { peer: string; tool: string; args: JsonObject; task: InboundTask; ctx: ViewCallContext }
): Promise<CallToolResult> {
  const { peer, tool, args, task, ctx } = call
  if (!worker.offers(tool, 'peer')) {
    throw new ProtocolError(ERROR_CODE_BUSY, `busy: this node does not accept tasks for "${tool}"`)
  }
  const decision = gate.checkRun('task-push', peer, tool)
  if (!decision.allowed) throw new ProtocolError(ERROR_CODE_DENIED, `denied: ${decision.reason}`)
  // The owner cancels with notifications/cancelled; a dropped connection is
  // not a cancel: the task keeps running so a restarted owner can re-lease it.
  const keepRunning = (reason: unknown): boolean => {
    if (!(reason instanceof SdkError && reason.code === SdkErrorCode.ConnectionClosed)) return false
    log('owner %s disconnected; task %s keeps running for a re-lease', peer, task.id)
    return true
  }
  const stopHeartbeat = heartbeatPushed(task.leaseMs, ctx.reportProgress)
  try {
    return await worker.execute(
      { id: task.id, token: task.token, tool, args, timeoutMs: task.timeoutMs, owner: peer },
      { signal: ctx.signal, reportProgress: ctx.reportProgress, keepRunning }
    )
  } finally {
    stopHeartbeat()
  }
}
