import { type CallToolResult, ProtocolError } from '@modelcontextprotocol/server'
import { ERROR_CODE_BUSY } from '../../mesh/index.js'
import type { RuntimeRouter } from '../../router/router.js'
import { errorResult } from '../../tools/define.js'
import type { ToolRegistry } from '../../tools/registry.js'
import type { JsonObject, ToolProgress } from '../../tools/types.js'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { DEFAULT_WORKER_CONCURRENCY, WORKER_RESULT_CACHE_MS } from '../constants.js'

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
  controller: AbortController
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
  isExported(name: string): boolean
}

/**
 * This node as a worker: runs tasks handed to it (pushed by an owner, claimed
 * from the task topic, or its own), never more than `maxConcurrency` at once.
 * It keeps recent results so a restarted owner can re-lease a task instead of
 * running it again.
 */
export class TaskWorker {
  readonly #host: WorkerHost
  #registration?: WorkerRegistration
  #accepting = true
  readonly #running = new Map<string, RunningTask>()
  /** Slots held by claims in flight (see reserve). */
  #reserved = 0
  readonly #recent = new Map<string, { token: string; result: CallToolResult; finishedAt: number }>()
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

  get freeSlots(): number {
    if (this.#registration == null || !this.#accepting) return 0
    return Math.max(0, this.#registration.maxConcurrency - this.#running.size - this.#reserved)
  }

  /**
   * Holds a slot while a claim is in flight: an announcement can list more
   * tasks than there are free slots, and claims answer asynchronously, so
   * without a reservation every announced task would be claimed and the
   * surplus granted tasks would fail as busy. Returns the release function
   * (call it just before `execute`, in the same tick), or undefined when full.
   */
  reserve(): (() => void) | undefined {
    if (this.freeSlots <= 0) return undefined
    this.#reserved++
    let released = false
    return () => {
      if (released) return
      released = true
      this.#reserved--
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
    for (const task of left) task.controller.abort(new Error('worker unregistered'))
    this.#registration = undefined
    return { drained: before - left.length, abandoned: left.length }
  }

  /** Runs a task here; throws a BUSY protocol error (nothing ran) when full or not accepting. */
  async execute(
    task: WorkerTask,
    ctx: { signal: AbortSignal; reportProgress: (p: ToolProgress) => void }
  ): Promise<CallToolResult> {
    const existing = this.#running.get(task.id)
    if (existing != null && existing.token === task.token) return existing.result
    if (this.freeSlots <= 0) {
      throw new ProtocolError(
        ERROR_CODE_BUSY,
        this.#accepting ? 'busy: worker is at maxConcurrency' : 'busy: not accepting tasks'
      )
    }
    const controller = new AbortController()
    const signal = AbortSignal.any([controller.signal, ctx.signal, AbortSignal.timeout(task.timeoutMs)])
    const running: RunningTask = {
      ...task,
      startedAt: Date.now(),
      controller,
      result: Promise.resolve(errorResult('not started'))
    }
    running.result = (async () => {
      try {
        return await this.#host.router.call(
          task.tool,
          task.args,
          {
            signal,
            reportProgress: ctx.reportProgress,
            caller: task.owner === 'local' ? { kind: 'local' } : { kind: 'peer', peerId: task.owner }
          },
          { override: 'local' }
        )
      } catch (err) {
        if (err instanceof ProtocolError) throw err
        return errorResult(errorMessage(err))
      }
    })()
    this.#running.set(task.id, running)
    try {
      const result = await running.result
      if (result.isError === true) this.#failed++
      else this.#done++
      this.#remember(task, result)
      return result
    } catch (err) {
      this.#failed++
      throw err
    } finally {
      this.#running.delete(task.id)
      if (this.#running.size === 0) {
        const waiters = this.#onIdle
        this.#onIdle = []
        for (const waiter of waiters) waiter()
      }
      this.#onSlotFree?.()
    }
  }

  abort(taskId: string, reason = 'cancelled by its owner'): boolean {
    const running = this.#running.get(taskId)
    if (running == null) return false
    log('aborting task %s: %s', taskId, reason)
    running.controller.abort(new Error(reason))
    return true
  }

  /** For a restarted owner: the result of a task run or running here, if its lease token matches. */
  async attach(taskId: string, token: string, signal: AbortSignal): Promise<CallToolResult | undefined> {
    const running = this.#running.get(taskId)
    if (running != null && running.token === token) {
      const aborted = new Promise<never>((_, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true })
      })
      return Promise.race([running.result, aborted])
    }
    const recent = this.#recent.get(taskId)
    if (recent != null && recent.token === token) return recent.result
    return undefined
  }

  isRunning(taskId: string): boolean {
    return this.#running.has(taskId)
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

  #remember(task: WorkerTask, result: CallToolResult): void {
    if (task.owner === 'local') return
    const now = Date.now()
    this.#recent.set(task.id, { token: task.token, result, finishedAt: now })
    for (const [id, entry] of this.#recent) {
      if (now - entry.finishedAt < WORKER_RESULT_CACHE_MS) break
      this.#recent.delete(id)
    }
  }
}
