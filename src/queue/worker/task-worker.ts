import { type CallToolResult, ProtocolError } from '@modelcontextprotocol/server'
import { ERROR_CODE_BUSY } from '../../mesh/index.js'
import type { RuntimeRouter } from '../../router/router.js'
import { errorResult } from '../../tools/define.js'
import type { ToolRegistry } from '../../tools/registry.js'
import type { JsonObject, ToolProgress } from '../../tools/types.js'
import { type Deadline, deadline } from '../../util/deadline.js'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import {
  DEFAULT_WORKER_CONCURRENCY,
  MAX_RECENT_RESULTS,
  MAX_RECENT_RESULTS_PER_OWNER,
  peerSlots,
  WORKER_RESULT_CACHE_MS
} from '../constants.js'
import { ChurnMap } from '../../util/churn-map.js'
import { attempt } from '../../util/settle.js'
import { RecentResults } from './recent-results.js'

const log = meshLogger('queue:worker')

export interface WorkerRegistration {
  /** Tools this node accepts tasks for; absent means every exported tool. */
  tools?: string[]
  /** Capabilities this worker advertises on top of its tools' own tags. */
  tags: string[]
  maxConcurrency: number
  limits: { cpu?: number; memoryMb?: number }
  /** False for the default worker every node with exported tools runs. */
  explicit: boolean
  registeredAt: number
}

export interface WorkerTask {
  id: string
  /** Lease token from the owner; results are accepted only with it. */
  token: string
  tool: string
  args: JsonObject
  timeoutMs: number
  /** Peer ID of the owner, or 'local'. */
  owner: string
}

interface RunningTask extends WorkerTask {
  startedAt: number
  /** The run's signal: aborted by the caller's signal, the task's timeout or abort()/unregister(). */
  deadline: Deadline
  result: Promise<CallToolResult>
}

export interface WorkerStatus {
  registered: boolean
  accepting: boolean
  registration?: WorkerRegistration
  running: number
  done: number
  failed: number
  current: Array<{ id: string; tool: string; owner: string; runningMs: number }>
}

export interface WorkerHost {
  registry: ToolRegistry
  router: RuntimeRouter
  /** Whether peers may see and call a tool of this node (the trust gate's `isExported`). */
  isExported(name: string): boolean
}

/** What `abort` found: the run aborted, no run of that owner and id here, or a token that is not the run's lease. */
export type AbortOutcome = 'aborted' | 'not-running' | 'wrong-token'

/** The owner this node's own tasks run for. */
const LOCAL_OWNER = 'local'

/** Runs are keyed by owner and task id: task ids are chosen by owners, so two owners may use the same one. */
function runKey(owner: string, taskId: string): string {
  return `${owner}\u0000${taskId}`
}

/**
 * This node as a worker: runs tasks handed to it (pushed by an owner, claimed
 * from the task topic, or its own), never more than `maxConcurrency` at once,
 * and peers' tasks never in the share kept back for its own (`peerSlots`).
 * Runs are keyed by (owner, task id): only the owner, with the run's lease
 * token, aborts or attaches to it. It keeps recent results (bounded per owner
 * and node-wide) so a restarted owner can re-lease a task instead of running
 * it again.
 */
export class TaskWorker {
  readonly #host: WorkerHost
  #registration?: WorkerRegistration
  #accepting = true
  /** Running tasks by runKey(owner, id). */
  readonly #running = new ChurnMap<string, RunningTask>()
  /** Running tasks of peers (pushed or claimed), bounded by peerSlots. */
  #peerRunning = 0
  /** Slots held by claims in flight (see reserve). */
  #reserved = 0
  /** Results of peers' tasks by runKey(owner, id), oldest first. */
  readonly #recent = new RecentResults({
    maxAgeMs: WORKER_RESULT_CACHE_MS,
    max: MAX_RECENT_RESULTS,
    maxPerOwner: MAX_RECENT_RESULTS_PER_OWNER
  })
  #done = 0
  #failed = 0
  #onIdle: Array<() => void> = []
  /** Called whenever a slot frees up (the owner's pump hands out more work). */
  readonly #onSlotFree?: () => void

  constructor(host: WorkerHost, defaults: { maxConcurrency?: number; onSlotFree?: () => void } = {}) {
    this.#host = host
    this.#onSlotFree = defaults.onSlotFree
    this.#registration = {
      tags: [],
      maxConcurrency: defaults.maxConcurrency ?? DEFAULT_WORKER_CONCURRENCY,
      limits: {},
      explicit: false,
      registeredAt: Date.now()
    }
  }

  get registration(): WorkerRegistration | undefined {
    return this.#registration
  }

  get maxConcurrency(): number {
    return this.#registration?.maxConcurrency ?? 0
  }

  /** Free slots for this node's own tasks (every slot). */
  get freeSlots(): number {
    if (this.#registration == null || !this.#accepting) return 0
    return Math.max(0, this.#registration.maxConcurrency - this.#running.size - this.#reserved)
  }

  /** Free slots for peers' tasks: never those kept back for this node's own (see `peerSlots`). */
  get freePeerSlots(): number {
    const peerLimit = peerSlots(this.maxConcurrency) - this.#peerRunning - this.#reserved
    return Math.max(0, Math.min(this.freeSlots, peerLimit))
  }

  /**
   * Holds a slot while a claim is in flight: an announcement can list more
   * tasks than there are free slots, and claims answer asynchronously, so
   * without a reservation every announced task would be claimed and the
   * surplus granted tasks would fail as busy. Returns the release function
   * (call it just before `execute`, in the same tick), or undefined when full.
   */
  reserve(): (() => void) | undefined {
    if (this.freePeerSlots <= 0) return undefined
    this.#reserved++
    let released = false
    return () => {
      if (released) return
      released = true
      this.#reserved--
      // A claim that was not granted frees its slot: the owner's pump may use it.
      this.#onSlotFree?.()
    }
  }

  get runningCount(): number {
    return this.#running.size
  }

  /** Whether this worker accepts tasks for `tool` (local tasks may use any local tool). */
  offers(tool: string, forOwner: 'local' | 'peer'): boolean {
    const registration = this.#registration
    if (registration == null || !this.#accepting || !this.#host.registry.has(tool)) return false
    if (registration.tools != null) return registration.tools.includes(tool)
    return forOwner === 'local' || this.#host.isExported(tool)
  }

  register(registration: Omit<WorkerRegistration, 'registeredAt' | 'explicit'>): WorkerRegistration {
    this.#registration = { ...registration, explicit: true, registeredAt: Date.now() }
    this.#accepting = true
    this.#onSlotFree?.()
    return this.#registration
  }

  /**
   * Stops taking tasks. `drain` waits (up to `timeoutMs`) for running tasks
   * to finish; `abandon` aborts them at once, so their owners requeue them.
   */
  async unregister(mode: 'drain' | 'abandon', timeoutMs: number): Promise<{ drained: number; abandoned: number }> {
    this.#accepting = false
    const before = this.#running.size
    if (mode === 'drain' && before > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs)
        this.#onIdle.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    const left = [...this.#running.values()]
    for (const task of left) task.deadline.abort(new Error('worker unregistered'))
    this.#registration = undefined
    return { drained: before - left.length, abandoned: left.length }
  }

  /** Runs a task here; throws a BUSY protocol error (nothing ran) when full or not accepting. */
  async execute(
    task: WorkerTask,
    ctx: {
      signal: AbortSignal
      reportProgress: (p: ToolProgress) => void
      /** An abort of `signal` for which the run goes on (true): e.g. a pushed task's owner disconnecting. */
      keepRunning?: (reason: unknown) => boolean
    }
  ): Promise<CallToolResult> {
    const key = runKey(task.owner, task.id)
    const existing = this.#running.get(key)
    if (existing != null) {
      if (existing.token === task.token) return existing.result
      throw new ProtocolError(ERROR_CODE_BUSY, `busy: task ${task.id} already runs here under another lease`)
    }
    const forPeer = task.owner !== LOCAL_OWNER
    if ((forPeer ? this.freePeerSlots : this.freeSlots) <= 0) {
      throw new ProtocolError(
        ERROR_CODE_BUSY,
        !this.#accepting
          ? 'busy: not accepting tasks'
          : forPeer && this.freeSlots > 0
            ? "busy: the worker's slots for peers are full"
            : 'busy: worker is at maxConcurrency'
      )
    }
    // One signal for the run: aborted by the caller's signal (unless keepRunning), the
    // task's timeout (AbortSignal.timeout's reason) or abort()/unregister(). Not
    // AbortSignal.any + AbortSignal.timeout: those cost a composite signal and
    // an uncleared timer per task.
    const limit = deadline(
      ctx.signal,
      task.timeoutMs,
      () => new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      { keepRunning: ctx.keepRunning, unref: true }
    )
    const startedAt = Date.now()
    // The run starts here (before it is recorded as running, as the tool's first await comes later).
    const result = this.#run(task, limit, ctx.reportProgress, forPeer)
    const running: RunningTask = { ...task, startedAt, deadline: limit, result }
    this.#running.set(key, running)
    if (forPeer) this.#peerRunning++
    try {
      const result = await running.result
      if (result.isError === true) this.#failed++
      else this.#done++
      this.#remember(key, task, result)
      return result
    } catch (err) {
      this.#failed++
      throw err
    } finally {
      limit.dispose()
      this.#running.delete(key)
      if (forPeer) this.#peerRunning--
      if (this.#running.size === 0) {
        const waiters = this.#onIdle
        this.#onIdle = []
        for (const waiter of waiters) waiter()
      }
      this.#onSlotFree?.()
    }
  }

  /**
   * The tool's run through the router: a tool's failure is an error result;
   * a protocol error (busy) is thrown. The router is handed the run's own
   * controller (the tool's timeout aborts it): no second controller chained
   * to it per task.
   */
  #run(
    task: WorkerTask,
    limit: Deadline,
    reportProgress: (p: ToolProgress) => void,
    forPeer: boolean
  ): Promise<CallToolResult> {
    const called = attempt(() =>
      this.#host.router.call(
        task.tool,
        task.args,
        {
          signal: limit.signal,
          reportProgress,
          caller: forPeer ? { kind: 'peer', peerId: task.owner } : { kind: 'local' }
        },
        { override: 'local', controller: limit.controller }
      )
    )
    return called.then(undefined, (err: unknown) => {
      if (err instanceof ProtocolError) throw err
      return errorResult(errorMessage(err))
    })
  }

  /** Aborts `owner`'s run of `taskId`, only with that run's lease token. */
  abort(owner: string, taskId: string, token: string, reason = 'cancelled by its owner'): AbortOutcome {
    const running = this.#running.get(runKey(owner, taskId))
    if (running == null) return 'not-running'
    if (running.token !== token) return 'wrong-token'
    log('aborting task %s of %s: %s', taskId, owner, reason)
    running.deadline.abort(new Error(reason))
    return 'aborted'
  }

  /**
   * For a restarted owner: the result of a task run or running here, if its
   * lease token matches. `owner` is the caller (the peer method always passes
   * it); without it, any owner's run with that id and token matches.
   */
  async attach(
    taskId: string,
    token: string,
    signal: AbortSignal,
    owner?: string
  ): Promise<CallToolResult | undefined> {
    const running = this.#find(this.#running, taskId, owner)
    if (running != null && running.token === token) {
      const aborted = new Promise<never>((_, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true })
      })
      return Promise.race([running.result, aborted])
    }
    const recent = this.#find(this.#recent.entries, taskId, owner)
    if (recent != null && recent.token === token) return recent.result
    return undefined
  }

  /** Whether `owner`'s task `taskId` runs here (any owner's, when `owner` is not given). */
  isRunning(taskId: string, owner?: string): boolean {
    return this.#find(this.#running, taskId, owner) != null
  }

  status(): WorkerStatus {
    const now = Date.now()
    return {
      registered: this.#registration != null,
      accepting: this.#accepting && this.#registration != null,
      registration: this.#registration,
      running: this.#running.size,
      done: this.#done,
      failed: this.#failed,
      current: [...this.#running.values()].map((task) => ({
        id: task.id,
        tool: task.tool,
        owner: task.owner,
        runningMs: now - task.startedAt
      }))
    }
  }

  #find<T extends { owner: string; id: string }>(
    runs: ReadonlyMap<string, T>,
    taskId: string,
    owner?: string
  ): T | undefined {
    if (owner != null) return runs.get(runKey(owner, taskId))
    for (const run of runs.values()) if (run.id === taskId) return run
    return undefined
  }

  /**
   * Keeps a peer's result for re-leases: at most MAX_RECENT_RESULTS_PER_OWNER
   * per owner and MAX_RECENT_RESULTS in all (oldest dropped first), each for
   * WORKER_RESULT_CACHE_MS.
   */
  #remember(key: string, task: WorkerTask, result: CallToolResult): void {
    if (task.owner === LOCAL_OWNER) return
    this.#recent.remember(key, {
      id: task.id,
      owner: task.owner,
      token: task.token,
      result,
      finishedAt: Date.now()
    })
  }
}
