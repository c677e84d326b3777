import type { PeerMethod } from '../../mcp/front.js'
import type { CatalogPeer } from '../../mesh/index.js'
import type { TrustGate } from '../../trust/index.js'
import type { LeaseBook } from '../owner/leases.js'
import type { Scheduler } from '../owner/scheduler.js'
import type { TaskStore } from '../owner/task-store.js'
import type { TaskWorker } from '../worker/task-worker.js'
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

/** The peer methods' host over the owner's parts: a claim takes the task out of line and leases it for pull. */
export function queueRpcHost(parts: {
  store: TaskStore
  scheduler: Scheduler
  leases: LeaseBook
  worker: TaskWorker
  leaseMs: number
  /** The catalog's peers (who may claim what). */
  peers: () => readonly CatalogPeer[]
  gate: Pick<TrustGate, 'checkPeer' | 'maySendTo' | 'checkSend' | 'refused'>
}): QueueRpcHost {
  const { store, scheduler, leases, worker, leaseMs, peers, gate } = parts
  return {
    leaseMs,
    paused: () => store.paused,
    task: (id) => store.get(id),
    bestClaimFor: (claimed, peer) => scheduler.bestClaimFor(claimed, peer),
    lease: (task, peer) => {
      scheduler.dequeue(task)
      return leases.start(task, peer, 'pull')
    },
    accepted: (id) => store.journal.accepted(id),
    peers,
    outstanding: (peer) => leases.outstanding(peer),
    coolingDown: (peer, now) => leases.coolingDown(peer, now),
    gate,
    leases,
    worker
  }
}
