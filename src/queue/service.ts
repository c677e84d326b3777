import { MalformedRequestError } from '../mcp/errors.js'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { TypedEventEmitter } from 'main-event'
import type { NodeSubsystem } from '../interface/subsystem.js'
import type { ViewCallContext } from '../mcp/view.js'
import type { CatalogAdvert } from '../mesh/index.js'
import type { JsonObject, Tool } from '../tools/types.js'
import type { QueueComponents, QueueInit } from './components.js'
import {
  ANNOUNCE_INTERVAL_MS,
  DEFAULT_MAX_FINISHED_TASKS,
  heartbeatIntervalMs,
  MAX_ANNOUNCED_TASKS,
  SWEEP_FLOOR_MS
} from './constants.js'
import { TaskTopic } from './owner/announce.js'
import { QueueOwner } from './owner/api.js'
import { TaskDispatch } from './owner/dispatch.js'
import { LeaseBook } from './owner/leases.js'
import { chooseWorker, type PlacementView } from './owner/placement.js'
import { recoverTasks } from './owner/recovery.js'
import { Scheduler } from './owner/scheduler.js'
import { QueueMetrics, type QueueStats } from './owner/stats.js'
import { TaskStore } from './owner/task-store.js'
import { type DispatchMode, taskView } from './owner/types.js'
import { inboundTaskSchema, TASK_META_KEY } from './protocol.js'
import { type QueueRpcHost, queuePeerMethods, queueRpcHost } from './rpc/index.js'
import { createQueueTools } from './tools/index.js'
import {
  FINAL_STATES,
  type Task,
  type TaskFilter,
  type TaskPage,
  type TaskQueueApi,
  type TaskQueueEvents,
  type TaskState,
  type TaskSubmission
} from './types.js'
import { TaskClaims } from './worker/claims.js'
import { executePushed } from './worker/pushed.js'
import { TaskWorker } from './worker/task-worker.js'

export type { DispatchMode } from './owner/types.js'
export type { QueueStats } from './owner/stats.js'

/**
 * A brokerless task queue. The submitting node owns its tasks: it journals
 * them, orders them (highest priority first, FIFO within a priority), and
 * hands each to a worker, which may be itself or a peer offering the tool.
 *
 * Dispatch: push when the catalog shows a worker with free capacity (the
 * owner picks it and sends the task over /mcp+p2p as a tools/call carrying a
 * lease); pull when no known worker can take it (the owner announces the task
 * on the mesh's task topic and the first idle worker that claims it over a
 * direct stream gets the lease). Leases are renewed by heartbeats; a lost
 * lease returns the task to the queue with the attempt counted.
 *
 * This class only composes the parts: owner/ (API, scheduler, placement,
 * leases, dispatch, announcements, recovery, stats), worker/ (the worker,
 * claims, pushed tasks, heartbeats) and rpc/ (the peer methods).
 */
export class TaskQueueService extends TypedEventEmitter<TaskQueueEvents> implements NodeSubsystem, TaskQueueApi {
  readonly name = 'queue'
  readonly worker: TaskWorker
  readonly #components: QueueComponents
  readonly #dispatchMode: DispatchMode
  readonly #leaseMs: number
  readonly #self: string
  readonly #metrics = new QueueMetrics()
  readonly #store: TaskStore
  readonly #scheduler: Scheduler
  readonly #leases: LeaseBook
  readonly #dispatch: TaskDispatch
  readonly #owner: QueueOwner
  readonly #topic: TaskTopic
  readonly #claims: TaskClaims
  readonly #rpcHost: QueueRpcHost
  readonly #placement: PlacementView
  #started = false
  #timers: NodeJS.Timeout[] = []
  #unsubscribeCatalog?: () => void
  #tools?: Tool[]

  constructor(init: QueueInit, components: QueueComponents) {
    super()
    const { config } = init
    const { mesh } = components
    this.#components = components
    this.#dispatchMode = config.dispatch
    this.#leaseMs = config.leaseMs
    this.#self = components.peerId.toString()
    this.worker = new TaskWorker(components.workerHost, {
      maxConcurrency: config.worker.maxConcurrency,
      onSlotFree: () => this.#scheduler.schedule()
    })
    this.#store = new TaskStore({
      resultTtlMs: config.resultTtlMs,
      maxFinished: config.maxFinishedTasks ?? DEFAULT_MAX_FINISHED_TASKS,
      syncWrites: config.syncWrites,
      onChange: (task, given) => {
        // One copy of the task for its waiters and the event's listeners.
        let view: Task | undefined = given
        const viewOf = (): Task => {
          view ??= taskView(task)
          return view
        }
        this.#owner.taskChanged(task, viewOf)
        this.#emit(viewOf)
      },
      onFinish: (at) => {
        this.#metrics.finished(at)
        this.#scheduler.schedule()
      }
    })
    this.#scheduler = new Scheduler({
      tasks: this.#store.tasks,
      started: () => this.#started,
      paused: () => this.#store.paused,
      choose: (task) => chooseWorker(task, this.#placement),
      dispatch: (task, choice) => {
        if (choice.kind === 'local') this.#dispatch.local(task)
        else void this.#dispatch.push(task, choice.peer)
      },
      noWorker: (task) => this.#owner.noWorker(task)
    })
    this.#leases = new LeaseBook({
      store: this.#store,
      enqueue: (task) => this.#scheduler.enqueue(task),
      metrics: this.#metrics,
      leaseMs: this.#leaseMs,
      self: this.#self,
      wake: () => this.#scheduler.schedule()
    })
    this.#dispatch = new TaskDispatch({
      store: this.#store,
      leases: this.#leases,
      worker: this.worker,
      mesh,
      gate: components.gate,
      leaseMs: this.#leaseMs
    })
    this.#placement = this.#placementView()
    this.#owner = new QueueOwner({
      store: this.#store,
      scheduler: this.#scheduler,
      leases: this.#leases,
      abortPull: async (worker, taskId, token) => this.#dispatch.abort(worker, taskId, token),
      registry: components.workerHost.registry,
      peers: () => mesh.peers(),
      self: this.#self
    })
    this.#claims = new TaskClaims({
      worker: this.worker,
      mesh,
      gate: components.gate,
      self: this.#self,
      localTags: (tool) => this.#localTags(tool),
      traced: components.traced
    })
    this.#rpcHost = queueRpcHost({
      store: this.#store,
      scheduler: this.#scheduler,
      leases: this.#leases,
      worker: this.worker,
      leaseMs: this.#leaseMs,
      peers: () => mesh.peers(),
      gate: components.gate
    })
    this.#topic = new TaskTopic({
      pubsub: components.pubsub,
      gate: components.gate,
      meshName: init.meshName,
      self: this.#self,
      onAnnouncement: (announcement) => this.#claims.onAnnouncement(announcement)
    })
  }

  hasLocalTool(name: string): boolean {
    return this.#components.workerHost.registry.has(name)
  }

  get paused(): boolean {
    return this.#store.paused
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    const { datastore, mesh, peerMethods } = this.#components
    await this.#store.open(datastore)
    await recoverTasks({
      store: this.#store,
      leases: this.#leases,
      enqueue: (task) => this.#scheduler.enqueue(task),
      mesh,
      leaseMs: this.#leaseMs
    })
    this.#unsubscribeCatalog = mesh.onCatalogChange(() => this.#scheduler.schedule())
    for (const method of queuePeerMethods(this.#rpcHost)) peerMethods.add(method)
    this.#topic.start()
    this.#timers.push(setInterval(() => this.#sweep(), heartbeatIntervalMs(this.#leaseMs, SWEEP_FLOOR_MS)))
    this.#timers.push(setInterval(() => this.#announceOpen(), ANNOUNCE_INTERVAL_MS))
    for (const timer of this.#timers) timer.unref()
    this.#scheduler.schedule()
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers = []
    this.#scheduler.stop()
    this.#unsubscribeCatalog?.()
    this.#unsubscribeCatalog = undefined
    for (const method of queuePeerMethods(this.#rpcHost)) this.#components.peerMethods.remove(method.method)
    this.#topic.stop()
    // Running tasks stay journaled as running: on restart they are re-leased or requeued.
    this.#leases.abortAll('node stopping')
    if (this.#store.opened) await this.#store.journal.flush()
  }

  /** The queue's MCP tools; the node registers them after start() and unregisters them before stop(). */
  tools(): Tool[] {
    this.#tools ??= createQueueTools(this)
    return this.#tools
  }

  /** This node as a worker, for its catalog advert; undefined while the queue is stopped. */
  workerInfo(): CatalogAdvert['worker'] {
    if (!this.#started) return undefined
    const worker = this.worker
    return {
      accepting: worker.freeSlots > 0 || worker.runningCount > 0,
      // The whole maxConcurrency: owners give peers' tasks peerSlots() of it (the rest is this node's own).
      maxConcurrency: worker.maxConcurrency,
      running: worker.runningCount,
      tags: worker.registration?.tags ?? []
    }
  }

  /**
   * For the mesh's peer view, after it authorized a call: a tools/call
   * carrying a task lease in `_meta` runs as a pushed task on this node's
   * worker (an invalid lease is InvalidParams). Any other call, or any call
   * while the queue is stopped, is not the queue's: undefined.
   */
  inboundCall(call: {
    peer: string
    tool: string
    args: JsonObject
    ctx: ViewCallContext
  }): Promise<CallToolResult> | undefined {
    const meta = call.ctx.meta?.[TASK_META_KEY]
    if (meta == null || !this.#started) return undefined
    const task = inboundTaskSchema.safeParse(meta)
    if (!task.success) {
      return Promise.reject(new MalformedRequestError(`invalid _meta["${TASK_META_KEY}"]`))
    }
    // Tasks are bounded by the worker's maxConcurrency, not the per-peer call queue.
    return executePushed(this.worker, this.#components.gate, { ...call, task: task.data })
  }

  // ---------------------------------------------------------------- public API

  submit(
    submission: TaskSubmission,
    _options: { signal?: AbortSignal } = {}
  ): Promise<{ task: Task; created: boolean }> {
    return this.#owner.submit(submission)
  }

  get(id: string): Task | undefined {
    return this.#owner.get(id)
  }

  require(id: string): Task {
    return this.#owner.require(id)
  }

  list(filter: TaskFilter = {}, page: { cursor?: string; limit?: number } = {}): TaskPage {
    return this.#owner.list(filter, page)
  }

  async cancel(id: string, reason = 'cancelled'): Promise<Task> {
    return this.#owner.cancel(id, reason)
  }

  waitFor(id: string, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Task> {
    return this.#owner.waitFor(id, options)
  }

  async setPriority(id: string, priority: number): Promise<Task> {
    return this.#owner.setPriority(id, priority)
  }

  async retry(id: string): Promise<Task> {
    return this.#owner.retry(id)
  }

  async pause(): Promise<void> {
    return this.#owner.pause()
  }

  async resume(): Promise<void> {
    return this.#owner.resume()
  }

  /** Removes finished or queued tasks by state; running tasks must be cancelled first. */
  async clear(states: TaskState[], confirm: boolean): Promise<number> {
    return this.#owner.clear(states, confirm)
  }

  stats(): QueueStats {
    const store = this.#store
    return this.#metrics.snapshot(store.tasks.values(), store.paused, store.opened ? store.journal : undefined)
  }

  status(): unknown {
    return { ...this.stats(), dispatchMode: this.#dispatchMode, leaseMs: this.#leaseMs, worker: this.worker.status() }
  }

  async health(): Promise<{ ok: boolean; detail: string }> {
    const stats = this.stats()
    return {
      ok: this.#started,
      detail: `${stats.counts.queued} queued, ${stats.counts.running} running${this.paused ? ', paused' : ''}; worker ${this.worker.runningCount}/${this.worker.maxConcurrency}`
    }
  }

  // ---------------------------------------------------------------- wiring

  /** What placement reads (closures over this service's parts), made once. */
  #placementView(): PlacementView {
    const leases = this.#leases
    return {
      self: this.#self,
      dispatchMode: this.#dispatchMode,
      worker: this.worker,
      localTags: (tool) => this.#localTags(tool),
      peers: () => this.#components.mesh.peers(),
      outstanding: (peer) => leases.outstanding(peer),
      pushPaused: (peer, now) => leases.pushPaused(peer, now),
      spreadWorkers: (spread) => leases.spreadWorkers(spread),
      maySendTo: (peer) => this.#components.gate.maySendTo(peer)
    }
  }

  #localTags(tool: string): string[] {
    return [
      ...(this.#components.workerHost.registry.get(tool)?.meta.tags ?? []),
      ...(this.worker.registration?.tags ?? [])
    ]
  }

  /**
   * Ends attempts past their deadline (a pull worker is told to abort),
   * expires pull leases without heartbeats and deletes finished tasks past
   * their retention.
   */
  #sweep(): void {
    const now = Date.now()
    for (const { taskId, lease } of this.#leases.sweep(now)) {
      void this.#dispatch.abort(lease.worker, taskId, lease.token)
    }
    for (const task of this.#store.tasks.values()) {
      if (task.expiresAt != null && task.expiresAt < now && FINAL_STATES.has(task.state)) void this.#store.remove(task)
    }
  }

  /** Announces queued tasks no known worker can take, so unknown or idle workers can claim them. */
  #announceOpen(): void {
    if (this.#store.paused || !this.#started || this.#dispatchMode === 'push') return
    this.#topic.announce(this.#scheduler.open(MAX_ANNOUNCED_TASKS))
  }

  #emit(viewOf: () => Task): void {
    if (this.listenerCount('task') === 0) return
    this.safeDispatchEvent('task', { detail: viewOf() })
  }
}
