import type { PeerMethod } from '../../mcp/front.js'
import { type AbortWorker, abortHandler } from './handlers/abort.js'
import { type AttachWorker, attachHandler } from './handlers/attach.js'
import { type ClaimOwner, claimHandler } from './handlers/claim.js'
import { type CompleteOwner, completeHandler } from './handlers/complete.js'
import { type HeartbeatOwner, heartbeatHandler } from './handlers/heartbeat.js'

export type { AbortWorker, AttachWorker, ClaimOwner, CompleteOwner, HeartbeatOwner }
export { abortHandler, attachHandler, claimHandler, completeHandler, heartbeatHandler }

/** Everything the queue's peer methods need: the owner side (claims, leases) and this node's worker. */
export type QueueRpcHost = ClaimOwner & HeartbeatOwner & CompleteOwner & AbortWorker & AttachWorker

/**
 * The queue's peer-only JSON-RPC methods on `/mcp+p2p`, one handler per
 * method: claim, heartbeat and complete (owner side, pull dispatch), abort
 * (worker side, a cancelled claim) and attach (worker side, a restarted
 * owner re-leasing a pushed task).
 */
export function queuePeerMethods(host: QueueRpcHost): PeerMethod[] {
  return [claimHandler(host), heartbeatHandler(host), completeHandler(host), abortHandler(host), attachHandler(host)]
}
