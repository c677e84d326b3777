import type { CatalogPeer } from '../../mesh/index.js'
import { type Candidate, rankCandidates } from '../../mesh/index.js'
import { peerSlots } from '../constants.js'
import { type DispatchMode, LOCAL, type StoredTask, type WorkerChoice } from './types.js'

/** This node's worker as placement sees it. */
export interface LocalWorkerView {
  offers(tool: string, forOwner: 'local' | 'peer'): boolean
  readonly freeSlots: number
  readonly runningCount: number
  readonly maxConcurrency: number
}

/** Everything placement reads: this node's worker, the catalog, and the owner's own bookkeeping. */
export interface PlacementView {
  /** This node's peer ID. */
  self: string
  dispatchMode: DispatchMode
  worker: LocalWorkerView
  /** Tags of a local tool plus those this worker registered. */
  localTags(tool: string): string[]
  /** The catalog's peers. */
  peers(): readonly CatalogPeer[]
  /** Leases this owner holds on a peer right now. */
  outstanding(peer: string): number
  /** Whether pushes to a peer wait: it failed a dispatch or refused one as busy recently (LeaseBook.pushPaused). */
  pushPaused(peer: string, now: number): boolean
  /** Workers holding leases of tasks with this spread key. */
  spreadWorkers(spread: string): Iterable<string>
  /** Whether this node may send tasks and their arguments to a peer (trust.sendTo); absent: any peer. */
  maySendTo?(peer: string): boolean
}

/** What the catalog says a peer offers for one tool: the tags it runs it with and the slots it has for peers. */
export interface CatalogOffer {
  /** The tool advert's tags plus the worker's registered tags. */
  tags: string[]
  /** Slots the peer's worker gives other peers' tasks (its maxConcurrency less its local share). */
  capacity: number
  /** False when the peer's worker says it takes no tasks. */
  accepting: boolean
}

/** The catalog entry of `peer` for `tool`, or undefined when it does not offer the tool. */
export function catalogOffer(peer: CatalogPeer, tool: string): CatalogOffer | undefined {
  const entry = peer.tools.get(tool)
  if (entry == null) return undefined
  const worker = peer.worker
  return {
    tags: [...entry.advert.tags, ...(worker?.tags ?? [])],
    capacity: peerSlots(worker?.maxConcurrency ?? peer.capacity.maxConcurrency),
    accepting: worker == null || worker.accepting
  }
}

/** Whether an offer carries every tag a task's placement requires. */
export function offerFits(task: StoredTask, offer: CatalogOffer): boolean {
  return (task.placement?.tags ?? []).every((tag) => offer.tags.includes(tag))
}

/** Whether `peer` may take the task by claiming it (pull). */
export function claimableBy(task: StoredTask, peer: string): boolean {
  return task.placement?.local !== true && (task.placement?.peer == null || task.placement.peer === peer)
}

/** Shared, never changed: choices without a peer, and the empty tag list. */
const LOCAL_CHOICE: WorkerChoice = Object.freeze({ kind: 'local' })
const BUSY: WorkerChoice = Object.freeze({ kind: 'busy' })
const NONE: WorkerChoice = Object.freeze({ kind: 'none' })
const NO_TAGS: readonly string[] = Object.freeze([])

/**
 * Whether `peer` offers `tool` with every tag in `required` (the tool
 * advert's tags or its worker's): `offerFits(task, catalogOffer(peer, tool))`
 * without building the offer.
 */
function hasTags(peer: CatalogPeer, tool: string, required: readonly string[]): boolean {
  if (required.length === 0) return true
  const advertTags = peer.tools.get(tool)?.advert.tags ?? NO_TAGS
  const workerTags = peer.worker?.tags ?? NO_TAGS
  return required.every((tag) => advertTags.includes(tag) || workerTags.includes(tag))
}

/**
 * Where a task runs now: this node or a peer with a free slot, ranked by
 * load, latency and rendezvous hash; `busy` when some worker offers the tool
 * but none has room; `none` when no worker offers it (with its placement).
 * Retries prefer workers not tried before; a spread group prefers workers not
 * already running one of its tasks. Runs once per dispatch: it builds no
 * offer, tag list or candidate list while there is one candidate.
 */
export function chooseWorker(task: StoredTask, view: PlacementView): WorkerChoice {
  const placement = task.placement
  const required = placement?.tags ?? NO_TAGS
  let first: Candidate | undefined
  let more: Candidate[] | undefined
  const add = (candidate: Candidate): void => {
    if (first == null) first = candidate
    else if (more == null) more = [first, candidate]
    else more.push(candidate)
  }
  let exists = false
  const now = Date.now()
  if (placement?.peer == null || placement.peer === view.self) {
    if (view.worker.offers(task.tool, 'local')) {
      const localTags = required.length > 0 ? view.localTags(task.tool) : NO_TAGS
      if (required.every((tag) => localTags.includes(tag))) {
        exists = true
        if (view.worker.freeSlots > 0) {
          add({
            peerId: LOCAL,
            inFlight: view.worker.runningCount,
            queued: 0,
            maxConcurrency: view.worker.maxConcurrency,
            latencyMs: 0,
            tags: localTags
          })
        }
      }
    }
  }
  if (placement?.local !== true && view.dispatchMode !== 'pull') {
    for (const peer of view.peers()) {
      if (!peer.tools.has(task.tool)) continue
      const worker = peer.worker
      if (worker != null && !worker.accepting) continue
      if (!hasTags(peer, task.tool, required)) continue
      if (placement?.peer != null && placement.peer !== peer.peerId) continue
      // Tasks carry their arguments: never to a peer outside trust.sendTo.
      if (view.maySendTo != null && !view.maySendTo(peer.peerId)) continue
      exists = true
      // A briefly disconnected worker gets work again once it is back (or is dropped).
      if (peer.disconnectedAt != null) continue
      const capacity = peerSlots(worker?.maxConcurrency ?? peer.capacity.maxConcurrency)
      const outstanding = view.outstanding(peer.peerId)
      if (outstanding >= capacity || view.pushPaused(peer.peerId, now)) continue
      add({
        peerId: peer.peerId,
        inFlight: outstanding,
        queued: 0,
        maxConcurrency: capacity,
        latencyMs: peer.latencyMs,
        // Every required tag is there (hasTags): ranking needs no tags.
        tags: NO_TAGS
      })
    }
  }
  if (first == null) return exists ? BUSY : NONE
  // One candidate (the common case): nothing to rank, so no set of workers to avoid is built.
  if (more == null) return choiceOf(first.peerId)
  const avoid = new Set(task.history.map((attempt) => (attempt.worker === view.self ? LOCAL : attempt.worker)))
  if (placement?.spread != null) for (const worker of view.spreadWorkers(placement.spread)) avoid.add(worker)
  const ranked = rankCandidates(more, { key: `${task.id}:${task.attempts}`, tried: avoid })
  return choiceOf(ranked[0]!.peerId)
}

function choiceOf(peerId: string): WorkerChoice {
  return peerId === LOCAL ? LOCAL_CHOICE : { kind: 'push', peer: peerId }
}
