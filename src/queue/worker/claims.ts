import type { CallToolResult } from '@modelcontextprotocol/server'
import { peerRefusal } from '../../mesh/index.js'
import { errorResult } from '../../tools/define.js'
import type { TrustGate } from '../../trust/index.js'
import { KeyedCounter } from '../../util/counter.js'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { parsePeerId, tryParsePeerId } from '../../util/peer-id.js'
import type { MeshPort, TracedRun } from '../components.js'
import {
  CLAIM_MEMORY_MS,
  CLAIM_TIMEOUT_MS,
  COMPLETE_TIMEOUT_MS,
  MAX_CLAIM_MEMORY,
  MAX_CLAIMS_PER_OWNER,
  METHOD_CLAIM,
  METHOD_COMPLETE,
  REPORT_ATTEMPTS,
  REPORT_BACKOFF_MS
} from '../constants.js'
import { type Announcement, claimResult, completeResult } from '../protocol.js'
import { heartbeatClaim } from './heartbeat.js'
import type { TaskWorker } from './task-worker.js'

const log = meshLogger('queue:worker')

export interface TaskClaimsInit {
  worker: Pick<TaskWorker, 'offers' | 'isRunning' | 'reserve' | 'execute' | 'abort'>
  mesh: Pick<MeshPort, 'client' | 'drop'>
  /** Whether an owner may make this node run a tool (export, trust.allowPeers, trust.tools). */
  gate: Pick<TrustGate, 'checkRun' | 'refused'>
  /** This node's peer ID. */
  self: string
  /** Tags of a local tool plus those this worker registered. */
  localTags(tool: string): string[]
  /**
   * Runs a granted task as a server span of the owner's trace (`trace`: the
   * grant's `_meta` entries), as a pushed task's tools/call is; absent: just runs it.
   */
  traced?: TracedRun
}

type OpenTask = Announcement['tasks'][number]

/**
 * The worker side of pull dispatch: claims announced tasks this node can
 * run for their owner (one claim per task, one reserved slot per claim, at
 * most MAX_CLAIMS_PER_OWNER unanswered requests per owner), runs the granted
 * task with heartbeats, and reports its result to the owner.
 *
 * What runs is bound to what was claimed: the granted task must be of the
 * announced tool (the owner may substitute another task id of that tool, its
 * priority rule), and the gate must allow the owner to run it, checked before
 * the claim and again after the grant. A grant naming another tool is refused
 * (not run) and handed back to the owner as not executed.
 */
export class TaskClaims {
  readonly #init: TaskClaimsInit
  /** Announced tasks this node is claiming right now, by owner and id (bounded by the reserved slots). */
  readonly #claiming = new Set<string>()
  /** Unanswered requests (claims, result reports) per owner. */
  readonly #pending = new KeyedCounter()
  /** When this node last tried to claim an announced task (owner and id): untried tasks are claimed first. */
  readonly #tried = new Map<string, number>()

  constructor(init: TaskClaimsInit) {
    this.#init = init
  }

  /** Claims the announced tasks this worker offers, while it has free slots and the owner is under its quota. */
  onAnnouncement(announcement: Announcement): void {
    const { worker, self, gate } = this.#init
    const owner = announcement.owner
    for (const open of this.#byLastTried(owner, announcement.tasks)) {
      if (this.#pending.get(owner) >= MAX_CLAIMS_PER_OWNER) return
      if (open.peer != null && open.peer !== self) continue
      if (!worker.offers(open.tool, 'peer')) continue
      const tags = this.#init.localTags(open.tool)
      if (!open.tags.every((tag) => tags.includes(tag))) continue
      const key = claimKey(owner, open.id)
      if (this.#claiming.has(key) || worker.isRunning(open.id, owner)) continue
      if (!gate.checkRun('task-claim', owner, open.tool).allowed) continue
      const slot = worker.reserve()
      if (slot == null) return
      this.#claiming.add(key)
      this.#remember(key)
      this.#pending.increment(owner)
      void this.#claim(owner, open, slot).finally(() => {
        slot()
        this.#claiming.delete(key)
      })
    }
  }

  /**
   * Claims one announced task from its owner and, if granted, runs it with
   * heartbeats. `slot` is the worker slot reserved for it, released into the
   * run (or when the claim is not granted). Holds one of the owner's pending
   * requests until the claim is answered.
   */
  async #claim(owner: string, open: OpenTask, slot: () => void): Promise<void> {
    const { worker, mesh, gate } = this.#init
    let answered = false
    const answer = (): void => {
      if (answered) return
      answered = true
      this.#pending.decrement(owner)
    }
    try {
      const ownerId = tryParsePeerId(owner)
      if (ownerId == null) return
      // The claim timeout covers the dial too: an owner that cannot be reached (a minted key whose
      // advertised address never answers) must not hold a reserved slot for the whole connect timeout.
      const claimStarted = Date.now()
      const client = await withinClaimTimeout(mesh.client(ownerId), owner)
      const reply = await client.request({ method: METHOD_CLAIM, params: { taskId: open.id } }, claimResult, {
        timeout: Math.max(1, CLAIM_TIMEOUT_MS - (Date.now() - claimStarted))
      })
      answer()
      if (!reply.granted) return
      // The owner may grant a better-ranked task than the one claimed (Scheduler.bestClaimFor):
      // from here on everything refers to the granted task, which must be of the claimed tool.
      const granted = reply.task
      const refusal =
        granted.tool !== open.tool
          ? `granted tool "${granted.tool}" for a claim of "${open.tool}"`
          : granted.id !== open.id && worker.isRunning(granted.id, owner)
            ? `task ${granted.id} already runs here`
            : undefined
      if (refusal != null) {
        gate.refused('task-claim', 'denied', owner, refusal)
        await this.#report(owner, granted.id, granted.token, errorResult(`denied: ${refusal}`), `denied: ${refusal}`)
        return
      }
      const decision = gate.checkRun('task-claim', owner, granted.tool)
      if (!decision.allowed) {
        const reason = `denied: ${decision.reason}`
        await this.#report(owner, granted.id, granted.token, errorResult(reason), reason)
        return
      }
      const stopHeartbeat = heartbeatClaim(client, granted, (reason) =>
        worker.abort(owner, granted.id, granted.token, reason)
      )
      let result: CallToolResult
      let notExecuted: string | undefined
      try {
        const run = async (): Promise<CallToolResult> => {
          // Hand the reserved slot to the run in the same tick, so nothing else takes it.
          slot()
          return worker.execute(
            {
              id: granted.id,
              token: granted.token,
              tool: granted.tool,
              args: granted.args,
              timeoutMs: granted.timeoutMs,
              owner
            },
            { signal: new AbortController().signal, reportProgress: () => {} }
          )
        }
        const traced = this.#init.traced
        result = await (traced == null ? run() : traced({ tool: granted.tool, owner, trace: granted.trace }, run))
      } catch (err) {
        // BUSY: nothing ran (the worker stopped accepting meanwhile), so the task is handed back.
        if (peerRefusal(err) === 'busy') notExecuted = (err as Error).message
        result = errorResult(errorMessage(err))
      } finally {
        stopHeartbeat()
      }
      await this.#report(owner, granted.id, granted.token, result, notExecuted)
    } catch (err) {
      log('claiming %s from %s failed: %s', open.id, owner, errorMessage(err))
    } finally {
      answer()
    }
  }

  /**
   * Reports a claimed task's result to its owner, retrying with backoff over
   * a fresh stream. Holds one of the owner's pending requests meanwhile, so
   * an owner that never acknowledges results gets no more claims.
   */
  async #report(
    owner: string,
    taskId: string,
    token: string,
    result: CallToolResult,
    notExecuted?: string
  ): Promise<void> {
    const { mesh } = this.#init
    const params = notExecuted == null ? { taskId, token, result } : { taskId, token, result, notExecuted }
    this.#pending.increment(owner)
    try {
      for (let attempt = 0; attempt < REPORT_ATTEMPTS; attempt++) {
        try {
          const client = await mesh.client(parsePeerId(owner))
          await client.request({ method: METHOD_COMPLETE, params }, completeResult, { timeout: COMPLETE_TIMEOUT_MS })
          return
        } catch (err) {
          log('reporting %s to %s failed (attempt %d): %s', taskId, owner, attempt + 1, errorMessage(err))
          await mesh.drop(owner)
          await new Promise((resolve) => setTimeout(resolve, REPORT_BACKOFF_MS * 2 ** attempt))
        }
      }
    } finally {
      this.#pending.decrement(owner)
    }
  }

  /** The announced tasks, never-tried ones first (in announcement order), then the least recently tried. */
  #byLastTried(owner: string, tasks: readonly OpenTask[]): OpenTask[] {
    const now = Date.now()
    const triedAt = (open: OpenTask): number => {
      const at = this.#tried.get(claimKey(owner, open.id))
      return at == null || now - at > CLAIM_MEMORY_MS ? 0 : at
    }
    return tasks
      .map((open, index) => ({ open, index, at: triedAt(open) }))
      .sort((a, b) => a.at - b.at || a.index - b.index)
      .map((entry) => entry.open)
  }

  /** Notes a claim attempt; the memory is bounded (expired entries, then the oldest, are dropped). */
  #remember(key: string): void {
    const now = Date.now()
    this.#tried.delete(key)
    this.#tried.set(key, now)
    if (this.#tried.size <= MAX_CLAIM_MEMORY) return
    for (const [old, at] of this.#tried) {
      if (this.#tried.size <= MAX_CLAIM_MEMORY && now - at <= CLAIM_MEMORY_MS) break
      this.#tried.delete(old)
    }
  }
}

/** `pending`, or a rejection once CLAIM_TIMEOUT_MS has passed (the dial may go on for the pool's other callers). */
async function withinClaimTimeout<T>(pending: Promise<T>, owner: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`owner ${owner} not reachable within ${CLAIM_TIMEOUT_MS} ms`)),
      CLAIM_TIMEOUT_MS
    )
  })
  try {
    return await Promise.race([pending, expired])
  } finally {
    clearTimeout(timer)
  }
}

function claimKey(owner: string, taskId: string): string {
  return `${owner}\u0000${taskId}`
}
