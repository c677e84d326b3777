import type { PeerId } from '@libp2p/interface'
import type { Client } from '@modelcontextprotocol/client'
import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/server'
import { callPeerTool, peerRefusal, withoutServerInfo } from '../../mesh/index.js'
import { errorResult } from '../../tools/define.js'
import { UnknownToolError } from '../../tools/errors.js'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { parsePeerId } from '../../util/peer-id.js'
import type { TrustGate } from '../../trust/index.js'
import type { MeshPort } from '../components.js'
import { ABORT_TIMEOUT_MS, MAX_PARSED_PEERS, METHOD_ABORT, TIMEOUT_GRACE_MS } from '../constants.js'
import { abortResult, type InboundTask, TASK_META_KEY } from '../protocol.js'
import type { TaskWorker } from '../worker/task-worker.js'
import type { LeaseBook } from './leases.js'
import type { TaskStore } from './task-store.js'
import { LOCAL, type Lease, type StoredTask } from './types.js'

const log = meshLogger('queue')

export interface TaskDispatchInit {
  store: TaskStore
  leases: LeaseBook
  worker: Pick<TaskWorker, 'execute'>
  mesh: Pick<MeshPort, 'client'>
  /** trust.sendTo: a task (with its arguments) is never pushed to a peer outside it. */
  gate: Pick<TrustGate, 'checkSend'>
  leaseMs: number
}

/**
 * Starts attempts: on this node's worker, or pushed to a peer as a
 * tools/call carrying the lease in `_meta` (its heartbeats ride the call as
 * progress notifications). Also tells a pull worker its task was cancelled.
 */
export class TaskDispatch {
  readonly #init: TaskDispatchInit
  /**
   * Workers' peer IDs by their string: parsed once, not per push (a parse
   * decodes base58, and the pool's look-up encodes it again unless the
   * PeerId object has its string cached).
   */
  readonly #peerIds = new Map<string, PeerId>()

  constructor(init: TaskDispatchInit) {
    this.#init = init
  }

  /** Runs a task on this node's worker. */
  local(task: StoredTask): void {
    const { leases, store } = this.#init
    const lease = leases.start(task, LOCAL, 'local')
    // A task submitted a moment ago runs once its acceptance is on disk.
    const written = store.journal.accepted(task.id)
    if (written == null) this.#runLocal(task, lease)
    else
      void written.then(
        () => this.#runLocal(task, lease),
        () => this.#runLocal(task, lease)
      )
  }

  #runLocal(task: StoredTask, lease: Lease): void {
    const { leases, worker } = this.#init
    if (leases.get(task.id) !== lease) return
    worker
      .execute(
        { id: task.id, token: lease.token, tool: task.tool, args: task.args, timeoutMs: task.timeoutMs, owner: LOCAL },
        { signal: lease.controller.signal, reportProgress: () => {} }
      )
      .then(
        (result) => leases.settle(task.id, lease.token, { result }),
        (err: unknown) => {
          if (peerRefusal(err) === 'busy') leases.notExecuted(task.id, lease.token, errorMessage(err))
          else if (err instanceof UnknownToolError)
            leases.settle(task.id, lease.token, { result: errorResult(err.message) })
          else leases.settle(task.id, lease.token, { result: errorResult(errorMessage(err)) })
        }
      )
  }

  /** Pushes a task to `peer`, which the catalog shows with a free slot. */
  async push(task: StoredTask, peer: string): Promise<void> {
    const { store, leases, mesh, leaseMs, gate } = this.#init
    const lease = leases.start(task, peer, 'push')
    // Placement keeps such peers out; this is the last check before the arguments leave.
    if (!gate.checkSend('task', peer)) {
      leases.notExecuted(task.id, lease.token, `peer ${peer} is not in trust.sendTo`)
      return
    }
    // The lease is on disk before the worker hears of the task, so a crash of
    // this node can only lead to a re-lease, never to a second run.
    try {
      await store.journal.put(task)
    } catch (err) {
      log.error('journaling the lease of %s failed: %s', task.id, errorMessage(err))
    }
    if (leases.get(task.id) !== lease) return
    let client: Client
    try {
      client = await mesh.client(this.#peerId(peer), { signal: lease.controller.signal })
    } catch (err) {
      leases.notExecuted(task.id, lease.token, errorMessage(err), peer)
      return
    }
    const meta: InboundTask = { id: task.id, token: lease.token, timeoutMs: task.timeoutMs, leaseMs }
    try {
      const result = await callPeerTool(
        client,
        { name: task.tool, arguments: task.args, _meta: { [TASK_META_KEY]: meta } },
        {
          signal: lease.controller.signal,
          // The lease: the worker's heartbeats (progress) must keep arriving.
          timeout: leaseMs,
          resetTimeoutOnProgress: true,
          maxTotalTimeout: task.timeoutMs + TIMEOUT_GRACE_MS,
          onprogress: () => leases.renew(lease)
        }
      )
      // Stored, journaled and answered as the tool's result: without the worker's wire serverInfo.
      leases.settle(task.id, lease.token, { result: withoutServerInfo(result) })
    } catch (err) {
      if (lease.controller.signal.aborted) return
      const refusal = peerRefusal(err)
      if (refusal === 'busy') {
        // A full worker, not a faulty one: pushes there wait for a slot; its claims stay welcome.
        leases.refusedBusy(task.id, lease.token, (err as Error).message, peer)
      } else if (refusal === 'denied') {
        leases.notExecuted(task.id, lease.token, (err as Error).message, peer)
      } else if (err instanceof ProtocolError) {
        leases.settle(task.id, lease.token, { result: errorResult(`rejected by ${peer}: ${err.message}`) })
      } else if (err instanceof SdkError && err.code === SdkErrorCode.RequestTimeout) {
        const timedOut = Date.now() - (task.startedAt ?? 0) >= task.timeoutMs
        if (timedOut) leases.settle(task.id, lease.token, { timeout: true })
        else leases.lost(task.id, lease.token, `no heartbeat from ${peer} for ${leaseMs} ms`)
      } else {
        leases.lost(task.id, lease.token, `lost ${peer}: ${errorMessage(err)}`)
      }
    }
  }

  #peerId(peer: string): PeerId {
    let id = this.#peerIds.get(peer)
    if (id == null) {
      id = parsePeerId(peer)
      if (this.#peerIds.size >= MAX_PARSED_PEERS) this.#peerIds.clear()
      this.#peerIds.set(peer, id)
    }
    return id
  }

  /** Tells a pull worker its task was cancelled; on failure its next heartbeat carries the cancel. */
  async abort(worker: string, taskId: string, token: string): Promise<void> {
    try {
      const client = await this.#init.mesh.client(parsePeerId(worker))
      await client.request({ method: METHOD_ABORT, params: { taskId, token } }, abortResult, {
        timeout: ABORT_TIMEOUT_MS
      })
    } catch (err) {
      log('abort of %s on %s failed (its heartbeat will carry the cancel): %s', taskId, worker, errorMessage(err))
    }
  }
}
