import { type CallToolResult, ProtocolError } from '@modelcontextprotocol/server'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { parsePeerId } from '../../util/peer-id.js'
import type { MeshPort } from '../components.js'
import { METHOD_ATTACH, REATTACH_BACKOFF_MAX_MS, REATTACH_BACKOFF_MS, REATTACH_DIAL_MS } from '../constants.js'
import { attachResult } from '../protocol.js'
import type { LeaseBook } from './leases.js'
import { closeAttempt, type TaskStore } from './task-store.js'
import { LOCAL, type Lease, type StoredTask } from './types.js'

const log = meshLogger('queue')

export interface RecoveryInit {
  store: TaskStore
  leases: LeaseBook
  enqueue(task: StoredTask): void
  mesh: Pick<MeshPort, 'client' | 'peers' | 'onCatalogChange'>
  leaseMs: number
}

export interface RecoveryReport {
  recovered: number
  requeued: number
  releasing: number
}

/**
 * Rebuilds the queue from the journal. Queued tasks go back in line. A task
 * that was running locally died with the process: it is requeued with the
 * attempt counted. A task pushed to or claimed by a peer is re-leased: the
 * owner asks a push worker for the result (waiting while it still runs) and
 * requeues it only if the worker no longer knows it; a pull worker's lease
 * lives on through its heartbeats, or expires.
 */
export async function recoverTasks(init: RecoveryInit): Promise<RecoveryReport> {
  const { store, leases } = init
  const tasks = (await store.journal.loadAll()) as StoredTask[]
  let requeued = 0
  let releasing = 0
  for (const task of tasks.sort((a, b) => a.seq - b.seq)) {
    store.add(task)
    if (task.state === 'queued') init.enqueue(task)
    else if (task.state === 'running') {
      const stored = task.lease
      if (stored == null || stored.worker === LOCAL || stored.dispatch === 'local') {
        closeAttempt(task, 'lease-lost', 'owner restarted while the task ran locally')
        task.state = 'queued'
        task.lease = undefined
        init.enqueue(task)
        store.journal.putLater(task)
        requeued++
      } else {
        const lease = leases.adopt(task, stored)
        releasing++
        if (stored.dispatch === 'push') void reattach(init, task, lease)
      }
    }
  }
  // Finished tasks in the order they finished; a journal written under a larger maxFinished (or before it existed)
  // is cut down to it, oldest finished first.
  store.loaded()
  if (tasks.length > 0) log('recovered %d tasks (%d requeued, %d re-leasing)', tasks.length, requeued, releasing)
  return { recovered: tasks.length, requeued, releasing }
}

/**
 * Asks the worker a task was pushed to for its result, under a fresh lease
 * renewed by its progress. Right after a restart the worker may not be
 * reachable yet (the bootstrap and known-peer dials are still under way, and
 * its addresses may not have been persisted before a crash): a failure to
 * reach it is retried with backoff for one lease term (as long as a silent
 * worker keeps a lease), so a task still running there is re-leased rather
 * than run again. Before the first ask it waits for the worker to be in the
 * catalog (connected, its addresses known): a dial by peer ID with no route
 * yet becomes a DHT look-up that libp2p's dial queue lets every other dial to
 * that peer join, the bootstrap dial included. An answer from the worker (a
 * protocol error included) is final.
 */
async function reattach(init: RecoveryInit, task: StoredTask, lease: Lease): Promise<void> {
  const { leases, leaseMs } = init
  const signal = lease.controller.signal
  const reachBy = Math.min(lease.deadline, Date.now() + leaseMs)
  await inCatalog(init.mesh, lease.worker, reachBy - Date.now(), signal)
  if (signal.aborted) return
  for (let backoff = REATTACH_BACKOFF_MS; ; backoff = Math.min(backoff * 2, REATTACH_BACKOFF_MAX_MS)) {
    try {
      const dial = AbortSignal.any([signal, AbortSignal.timeout(REATTACH_DIAL_MS)])
      const client = await init.mesh.client(parsePeerId(lease.worker), { signal: dial })
      const answer = await client.request(
        { method: METHOD_ATTACH, params: { taskId: task.id, token: lease.token } },
        attachResult,
        {
          signal,
          timeout: leaseMs,
          resetTimeoutOnProgress: true,
          // Progress renews the lease, never past the attempt's deadline.
          maxTotalTimeout: Math.max(1, lease.deadline - Date.now()),
          onprogress: () => leases.renew(lease)
        }
      )
      if (answer.state === 'finished') leases.settle(task.id, lease.token, { result: answer.result as CallToolResult })
      else leases.lost(task.id, lease.token, `worker ${lease.worker} no longer knows the task`)
      return
    } catch (err) {
      if (signal.aborted) return
      const final = err instanceof ProtocolError || Date.now() + backoff >= reachBy
      if (!final) {
        log(
          're-lease of %s from %s failed (%s); asking again in %d ms',
          task.id,
          lease.worker,
          errorMessage(err),
          backoff
        )
        if (await pause(backoff, signal)) continue
        return
      }
      if (Date.now() >= lease.deadline) leases.timeout(task.id, lease.token)
      else leases.lost(task.id, lease.token, `re-lease from ${lease.worker} failed: ${errorMessage(err)}`)
      return
    }
  }
}

/** Resolves once `peer` is in the catalog, after `ms`, or when `signal` aborts, whichever comes first. */
async function inCatalog(
  mesh: Pick<MeshPort, 'peers' | 'onCatalogChange'>,
  peer: string,
  ms: number,
  signal: AbortSignal
): Promise<void> {
  const listed = (): boolean => mesh.peers().some((candidate) => candidate.peerId === peer)
  if (listed() || signal.aborted || ms <= 0) return
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      unsubscribe()
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    const unsubscribe = mesh.onCatalogChange(() => {
      if (listed()) done()
    })
    signal.addEventListener('abort', done, { once: true })
  })
}

/** Waits `ms`; false when `signal` aborted first (the lease ended). */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
