import type { CallToolResult } from '@modelcontextprotocol/server'
import { peerRefusal } from '../../mesh/index.js'
import { errorResult } from '../../tools/define.js'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { parsePeerId, tryParsePeerId } from '../../util/peer-id.js'
import type { MeshPort } from '../components.js'
import {
  CLAIM_TIMEOUT_MS,
  COMPLETE_TIMEOUT_MS,
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
  /** This node's peer ID. */
  self: string
  /** Tags of a local tool plus those this worker registered. */
  localTags(tool: string): string[]
}

/**
 * The worker side of pull dispatch: claims announced tasks this node can
 * run (one claim per task, one reserved slot per claim), runs the granted
 * task with heartbeats, and reports its result to the owner.
 */
export class TaskClaims {
  readonly #init: TaskClaimsInit
  /** Announced tasks this node is claiming right now (one claim per task). */
  readonly #claiming = new Set<string>()

  constructor(init: TaskClaimsInit) {
    this.#init = init
  }

  /** Claims the announced tasks this worker offers, while it has free slots. */
  onAnnouncement(announcement: Announcement): void {
    const { worker, self } = this.#init
    for (const open of announcement.tasks) {
      if (open.peer != null && open.peer !== self) continue
      if (!worker.offers(open.tool, 'peer')) continue
      const tags = this.#init.localTags(open.tool)
      if (!open.tags.every((tag) => tags.includes(tag))) continue
      if (this.#claiming.has(open.id) || worker.isRunning(open.id)) continue
      const slot = worker.reserve()
      if (slot == null) return
      this.#claiming.add(open.id)
      void this.#claim(announcement.owner, open.id, slot).finally(() => {
        slot()
        this.#claiming.delete(open.id)
      })
    }
  }

  /**
   * Claims one announced task from its owner and, if granted, runs it with
   * heartbeats. `slot` is the worker slot reserved for it, released into the
   * run (or when the claim is not granted).
   */
  async #claim(owner: string, taskId: string, slot: () => void): Promise<void> {
    const { worker, mesh } = this.#init
    const ownerId = tryParsePeerId(owner)
    if (ownerId == null) return
    try {
      const client = await mesh.client(ownerId)
      const answer = await client.request({ method: METHOD_CLAIM, params: { taskId } }, claimResult, {
        timeout: CLAIM_TIMEOUT_MS
      })
      if (!answer.granted) return
      // The owner may grant a better-ranked task than the one claimed (Scheduler.bestClaimFor):
      // from here on everything refers to the granted task.
      const granted = answer.task
      const stopHeartbeat = heartbeatClaim(client, granted, (reason) => worker.abort(granted.id, reason))
      let result: CallToolResult
      let notExecuted: string | undefined
      try {
        // Hand the reserved slot to the run in the same tick, so nothing else takes it.
        slot()
        result = await worker.execute(
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
      } catch (err) {
        // BUSY: nothing ran (the worker stopped accepting meanwhile), so the task is handed back.
        if (peerRefusal(err) === 'busy') notExecuted = (err as Error).message
        result = errorResult(errorMessage(err))
      } finally {
        stopHeartbeat()
      }
      await this.#report(owner, granted.id, granted.token, result, notExecuted)
    } catch (err) {
      log('claiming %s from %s failed: %s', taskId, owner, errorMessage(err))
    }
  }

  /** Reports a claimed task's result to its owner, retrying with backoff over a fresh stream. */
  async #report(
    owner: string,
    taskId: string,
    token: string,
    result: CallToolResult,
    notExecuted?: string
  ): Promise<void> {
    const { mesh } = this.#init
    const params = notExecuted == null ? { taskId, token, result } : { taskId, token, result, notExecuted }
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
  }
}
