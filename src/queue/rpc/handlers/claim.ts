import { ProtocolError } from '@modelcontextprotocol/server'
import type { z } from 'zod'
import type { PeerMethod } from '../../../mcp/front.js'
import { type CatalogPeer, ERROR_CODE_BUSY, ERROR_CODE_DENIED } from '../../../mesh/index.js'
import type { RefusalKind, TrustGate } from '../../../trust/index.js'
import { METHOD_CLAIM } from '../../constants.js'
import { catalogOffer, claimableBy, offerFits } from '../../owner/placement.js'
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
  /** Resolves once the task's acceptance is in the journal (undefined: it is already). */
  accepted(id: string): Promise<void> | undefined
  /** The catalog's peers: only a peer listed as offering the tool (with the task's tags) may claim it. */
  peers(): readonly CatalogPeer[]
  /** Leases this owner holds on a peer right now. */
  outstanding(peer: string): number
  /** Whether a peer handed back, failed or lost a task recently. */
  coolingDown(peer: string, now: number): boolean
  gate: Pick<TrustGate, 'checkPeer' | 'maySendTo' | 'checkSend' | 'refused'>
}

/**
 * `mcp-mesh/task/claim`: a worker claims an announced task. Granted (with a
 * fresh lease token) only for a queued, ready task whose placement allows
 * the peer, while the queue is not paused, and only to a peer that
 * - the gate admits (trust.allowPeers) and this node may send arguments to
 *   (trust.sendTo): else a denied error;
 * - the catalog lists as offering the task's tool with the tags it requires
 *   (tool advert tags + worker tags, as placement reads them): else denied;
 * - has not handed back, failed or lost a task in the last moment, and holds
 *   fewer of this owner's leases than the slots it offers peers: else busy.
 * Refusals are counted on the gate's `task-rpc` path.
 */
export function claimHandler(owner: ClaimOwner): PeerMethod {
  const refuse = (kind: RefusalKind, peer: string, reason: string): never => {
    owner.gate.refused('task-rpc', kind, peer, reason)
    throw new ProtocolError(kind === 'busy' ? ERROR_CODE_BUSY : ERROR_CODE_DENIED, `${kind}: ${reason}`)
  }
  return {
    method: METHOD_CLAIM,
    params: claimParams,
    handler: async (params, ctx): Promise<z.infer<typeof claimResult>> => {
      const { taskId } = params as z.infer<typeof claimParams>
      const peer = ctx.peerId
      const admitted = owner.gate.checkPeer('task-rpc', peer)
      if (!admitted.allowed) throw new ProtocolError(ERROR_CODE_DENIED, `denied: ${admitted.reason}`)
      if (!owner.gate.checkSend('task', peer)) refuse('denied', peer, `peer ${peer} is not in trust.sendTo`)
      const claimed = owner.task(taskId)
      if (claimed == null || claimed.state !== 'queued' || owner.paused() || claimed.runAt > Date.now()) {
        return { granted: false, reason: claimed == null ? 'unknown task' : `task is ${claimed.state}` }
      }
      if (!claimableBy(claimed, peer)) {
        return { granted: false, reason: 'placement does not allow this peer' }
      }
      const listed = owner.peers().find((entry) => entry.peerId === peer)
      const offer = listed == null ? undefined : catalogOffer(listed, claimed.tool)
      if (offer == null) refuse('denied', peer, `the catalog does not list ${peer} as offering "${claimed.tool}"`)
      if (!offerFits(claimed, offer!)) {
        const missing = (claimed.placement?.tags ?? []).filter((tag) => !offer!.tags.includes(tag))
        refuse('denied', peer, `${peer} lacks the tags the task requires: ${missing.join(', ')}`)
      }
      const now = Date.now()
      if (owner.coolingDown(peer, now)) refuse('busy', peer, `${peer} handed back or lost a task just now; retry later`)
      if (owner.outstanding(peer) >= offer!.capacity) {
        refuse('busy', peer, `${peer} already holds ${owner.outstanding(peer)} of this owner's tasks`)
      }
      const task = owner.bestClaimFor(claimed, peer)
      const lease = owner.lease(task, peer)
      // A task accepted a moment ago leaves once its acceptance is on disk.
      await owner.accepted(task.id)?.catch(() => {})
      return {
        granted: true,
        task: {
          id: task.id,
          token: lease.token,
          tool: task.tool,
          args: task.args,
          timeoutMs: task.timeoutMs,
          leaseMs: owner.leaseMs,
          ...(task.trace != null ? { trace: task.trace } : {})
        }
      }
    }
  }
}
