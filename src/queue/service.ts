import { randomUUID } from 'node:crypto'
import type { Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  type CallToolResult,
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode
} from '@modelcontextprotocol/server'
import { TypedEventEmitter } from 'main-event'
import type { ViewCallContext } from '../mcp/view.js'
import {
  type Candidate,
  type CatalogAdvert,
  ERROR_CODE_BUSY,
  ERROR_CODE_DENIED,
  type MeshPort,
  rankCandidates
} from '../mesh/index.js'
import type { MeshNode } from '../node/mesh-node.js'
import type { NodeSubsystem } from '../interface/subsystem.js'
import { errorResult } from '../tools/define.js'
import { UnknownToolError } from '../tools/errors.js'
import { DEFAULT_PRIORITY, DEFAULT_TIMEOUT_MS, retryPolicySchema } from '../tools/meta.js'
import type { JsonObject, Tool } from '../tools/types.js'
import { resultText } from '../mcp/result.js'
import { canonicalHash } from '../util/canonical-json.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import {
  ANNOUNCE_INTERVAL_MS,
  DEFAULT_PAGE_SIZE,
  HEARTBEAT_FRACTION,
  MAX_LEASE_LOSSES,
  MAX_PAGE_SIZE,
  MAX_REJECTED_IN_HISTORY,
  METHOD_ABORT,
  METHOD_ATTACH,
  METHOD_CLAIM,
  METHOD_COMPLETE,
  METHOD_HEARTBEAT,
  THROUGHPUT_WINDOW_MS,
  TIMEOUT_GRACE_MS
} from './constants.js'
import {
  ConfirmationRequiredError,
  IdempotencyConflictError,
  NoWorkerError,
  TaskAlreadyFinishedError,
  TaskNotQueuedError,
  TaskNotRetryableError,
  UnknownTaskError,
  WaitTimeoutError
} from './errors.js'
import { TaskJournal } from './journal.js'
import {
  abortParams,
  abortResult,
  type Announcement,
  announcementSchema,
  attachParams,
  attachResult,
  claimParams,
  claimResult,
  completeParams,
  completeResult,
  heartbeatParams,
  heartbeatResult,
  type InboundTask,
  inboundTaskSchema,
  TASK_META_KEY,
  taskTopic
} from './protocol.js'
import { createQueueTools } from './tools/index.js'
import {
  type AttemptOutcome,
  FINAL_STATES,
  type Task,
  type TaskFilter,
  type TaskPage,
  type TaskQueueApi,
  type TaskQueueEvents,
  type TaskRetry,
  type TaskState,
  type TaskSubmission
} from './types.js'
import { TaskWorker } from './worker.js'

const log = meshLogger('queue')
const LOCAL = 'local'

export type DispatchMode = 'auto' | 'push' | 'pull'

interface Lease {
  worker: string
  token: string
  dispatch: 'local' | 'push' | 'pull'
  controller: AbortController
  expiresAt: number
}

/** What a journaled running task remembers of its lease, for recovery after a restart. */
interface StoredLease {
  worker: string
  token: string
  dispatch: 'local' | 'push' | 'pull'
}

type StoredTask = Task & { lease?: StoredLease; leaseLosses?: number }

type WorkerChoice = { kind: 'local' } | { kind: 'push'; peer: string } | { kind: 'busy' } | { kind: 'none' }

export interface QueueStats {
  paused: boolean
  counts: Record<TaskState, number>
  total: number
  throughputPerSec: number
  meanWaitMs: number
  meanRunMs: number
  completed: number
  journal: { writes: number; batches: number }
}

function hashArgs(tool: string, args: JsonObject): string {
  return canonicalHash(tool, args)
}

function backoffMs(retry: TaskRetry, attempt: number): number {
  if (retry.policy === 'none') return 0
  const base = retry.policy === 'exponential' ? retry.baseDelayMs * 2 ** (attempt - 1) : retry.baseDelayMs * attempt
  return Math.round(retry.jitter ? base * (0.8 + Math.random() * 0.4) : base)
}

/**
 * A brokerless task queue. The submitting node owns its tasks: it journals
 * them, orders them (priority 10 first, FIFO within a priority), and hands
 * each to a worker, which may be itself or a peer offering the tool.
 *
 * Dispatch: push when the catalog shows a worker with free capacity (the
 * owner picks it and sends the task over /mcp+p2p as a tools/call carrying a
 * lease); pull when no known worker can take it (the owner announces the task
 * on the mesh's task topic and the first idle worker that claims it over a
 * direct stream gets the lease). Leases are renewed by heartbeats; a lost
 * lease returns the task to the queue with the attempt counted.
 */
export class TaskQueueService extends TypedEventEmitter<TaskQueueEvents> implements NodeSubsystem, TaskQueueApi {
  readonly name = 'queue'
  readonly #node: MeshNode
  readonly worker: TaskWorker
  readonly #tasks = new Map<string, StoredTask>()
  /** Announced tasks this node is claiming right now (one claim per task). */
  readonly #claiming = new Set<string>()
  readonly #idempotency = new Map<string, string>()
  /** Ready-to-run queued task IDs by priority, each FIFO by seq. */
  readonly #buckets: string[][] = Array.from({ length: 11 }, () => [])
  /** Queued tasks whose runAt is in the future. */
  readonly #delayed = new Set<string>()
  readonly #leases = new Map<string, Lease>()
  readonly #outstanding = new Map<string, number>()
  /** Peers that refused or failed a dispatch recently: not offered work until this time. */
  readonly #cooldown = new Map<string, number>()
  readonly #completions: number[] = []
  readonly #dispatchMode: DispatchMode
  readonly #leaseMs: number
  readonly #resultTtlMs: number
  #journal?: TaskJournal
  #paused = false
  #seq = 0
  #started = false
  #pumpScheduled = false
  #timers: NodeJS.Timeout[] = []
  #delayTimer?: NodeJS.Timeout
  #tools: Tool[] = []
  #waitSum = 0
  #waitCount = 0
  #runSum = 0
  #runCount = 0
  readonly #onAnnouncement = (event: CustomEvent<Message>): void => this.#handleAnnouncement(event.detail)
  readonly #onCatalogChange = (): void => this.#schedulePump()
  readonly #meshPort?: MeshPort
  #unsubscribeCatalog?: () => void

  constructor(node: MeshNode, mesh?: MeshPort) {
    super()
    this.#node = node
    this.#meshPort = mesh
    const config = node.config.queue
    this.#dispatchMode = config.dispatch
    this.#leaseMs = config.leaseMs
    this.#resultTtlMs = config.resultTtlMs
    this.worker = new TaskWorker(node, { maxConcurrency: config.worker.maxConcurrency })
    this.worker.onSlotFree = () => this.#schedulePump()
  }

  /** This node's worker state for its catalog adverts (undefined while the queue is stopped). */
  workerInfo(): CatalogAdvert['worker'] {
    if (!this.#started) return undefined
    return {
      accepting: this.worker.freeSlots > 0 || this.worker.runningCount > 0,
      maxConcurrency: this.worker.maxConcurrency,
      running: this.worker.runningCount,
      tags: this.worker.registration?.tags ?? []
    }
  }

  /**
   * The mesh's inbound-call hook: an authorized call carrying a pushed task
   * (`_meta[TASK_META_KEY]`) runs as a task on this worker, bounded by the
   * worker's slots instead of the per-peer call queue; any other call runs normally.
   */
  inboundCall(call: {
    peer: string
    tool: string
    args: JsonObject
    ctx: ViewCallContext
  }): Promise<CallToolResult> | undefined {
    const taskMeta = call.ctx.meta?.[TASK_META_KEY]
    if (taskMeta == null || !this.#started) return undefined
    const task = inboundTaskSchema.safeParse(taskMeta)
    if (!task.success) {
      return Promise.reject(new ProtocolError(ProtocolErrorCode.InvalidParams, `invalid _meta["${TASK_META_KEY}"]`))
    }
    return this.#executePushed(call.peer, call.tool, call.args, task.data, call.ctx)
  }

  hasLocalTool(name: string): boolean {
    return this.#node.registry.has(name)
  }

  get paused(): boolean {
    return this.#paused
  }

  get #mesh(): MeshPort | undefined {
    return this.#meshPort
  }

  get #self(): string {
    return this.#node.libp2p.peerId.toString()
  }

  get #topic(): string {
    return taskTopic(this.#node.config.mesh.name)
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#journal = new TaskJournal(this.#node.datastore)
    const state = await this.#journal.loadState()
    this.#paused = state?.paused ?? false
    this.#seq = state?.seq ?? 0
    await this.#recover()

    this.#unsubscribeCatalog = this.#mesh?.onCatalogChange(this.#onCatalogChange)
    this.#registerPeerMethods()
    const pubsub = this.#node.libp2p.services.pubsub
    pubsub.topicValidators.set(this.#topic, (_peer, message) => {
      if (message.type !== 'signed') return TopicValidatorResult.Reject
      try {
        const announcement = announcementSchema.parse(JSON.parse(new TextDecoder().decode(message.data)))
        return announcement.owner === message.from.toString()
          ? TopicValidatorResult.Accept
          : TopicValidatorResult.Reject
      } catch {
        return TopicValidatorResult.Reject
      }
    })
    pubsub.addEventListener('message', this.#onAnnouncement)
    pubsub.subscribe(this.#topic)

    this.#tools = createQueueTools(this)
    this.#node.registry.registerAll(this.#tools)
    this.#timers.push(setInterval(() => this.#sweep(), Math.max(250, Math.floor(this.#leaseMs / HEARTBEAT_FRACTION))))
    this.#timers.push(setInterval(() => this.#announceOpen(), ANNOUNCE_INTERVAL_MS))
    for (const timer of this.#timers) timer.unref()
    this.#schedulePump()
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers = []
    clearTimeout(this.#delayTimer)
    this.#unsubscribeCatalog?.()
    this.#unsubscribeCatalog = undefined
    for (const method of [METHOD_CLAIM, METHOD_HEARTBEAT, METHOD_COMPLETE, METHOD_ABORT, METHOD_ATTACH]) {
      this.#node.front.removePeerMethod(method)
    }
    const pubsub = this.#node.libp2p.services.pubsub
    pubsub.removeEventListener('message', this.#onAnnouncement)
    pubsub.topicValidators.delete(this.#topic)
    try {
      pubsub.unsubscribe(this.#topic)
    } catch {}
    for (const tool of this.#tools) this.#node.registry.unregister(tool.name)
    this.#tools = []
    // Running tasks stay journaled as running: on restart they are re-leased or requeued.
    for (const lease of this.#leases.values()) lease.controller.abort(new Error('node stopping'))
    this.#leases.clear()
    await this.#journal?.flush()
  }

  // ---------------------------------------------------------------- public API

  async submit(
    submission: TaskSubmission,
    _options: { signal?: AbortSignal } = {}
  ): Promise<{ task: Task; created: boolean }> {
    const args = submission.args ?? {}
    const argsHash = hashArgs(submission.tool, args)
    if (submission.idempotencyKey != null) {
      const existingId = this.#idempotency.get(submission.idempotencyKey)
      const existing = existingId != null ? this.#tasks.get(existingId) : undefined
      if (existing != null) {
        if (existing.argsHash !== argsHash) throw new IdempotencyConflictError(submission.idempotencyKey, existing.id)
        return { task: this.#view(existing), created: false }
      }
    }
    const tool = this.#node.registry.get(submission.tool)
    const offered = tool != null || this.#offeredByPeers(submission.tool)
    if (!offered && submission.failIfNoWorker === true) throw new NoWorkerError(submission.tool)
    const now = Date.now()
    const remoteMeta = this.#remoteMeta(submission.tool)
    const baseRetry = tool?.meta.retry ?? remoteMeta?.retry ?? retryPolicySchema.parse({})
    const retry: TaskRetry = { ...baseRetry, jitter: true, ...submission.retry }
    retryPolicySchema.parse({
      policy: retry.policy,
      maxAttempts: retry.maxAttempts,
      baseDelayMs: retry.baseDelayMs,
      retryOnToolError: retry.retryOnToolError
    })
    const runAt = submission.runAt ?? (submission.delayMs != null ? now + submission.delayMs : now)
    const task: StoredTask = {
      id: randomUUID(),
      tool: submission.tool,
      args,
      state: 'queued',
      priority: submission.priority ?? tool?.meta.priority ?? remoteMeta?.priority ?? DEFAULT_PRIORITY,
      seq: ++this.#seq,
      tags: submission.tags ?? [],
      idempotencyKey: submission.idempotencyKey,
      argsHash,
      retry,
      timeoutMs: submission.timeoutMs ?? tool?.meta.timeoutMs ?? remoteMeta?.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      runAt,
      createdAt: now,
      updatedAt: now,
      attempts: 0,
      history: [],
      placement: submission.placement,
      failIfNoWorker: submission.failIfNoWorker === true,
      labels: submission.labels ?? {},
      reason: offered ? undefined : `no worker offers tool "${submission.tool}" yet`
    }
    this.#tasks.set(task.id, task)
    if (task.idempotencyKey != null) this.#idempotency.set(task.idempotencyKey, task.id)
    // Durable before acknowledged.
    await this.#journal!.put(task)
    if (this.#seq % 64 === 0) void this.#saveState()
    this.#enqueue(task)
    this.#emit(task)
    return { task: this.#view(task), created: true }
  }

  get(id: string): Task | undefined {
    const task = this.#tasks.get(id)
    return task == null ? undefined : this.#view(task)
  }

  require(id: string): Task {
    const task = this.get(id)
    if (task == null) throw new UnknownTaskError(id)
    return task
  }

  list(filter: TaskFilter = {}, page: { cursor?: string; limit?: number } = {}): TaskPage {
    const states =
      filter.state == null ? undefined : new Set(Array.isArray(filter.state) ? filter.state : [filter.state])
    const matches = [...this.#tasks.values()].filter(
      (task) =>
        (states == null || states.has(task.state)) &&
        (filter.tool == null || task.tool === filter.tool) &&
        (filter.tag == null || task.tags.includes(filter.tag)) &&
        (filter.worker == null || task.worker === filter.worker) &&
        (filter.priority == null || task.priority === filter.priority) &&
        (filter.labels == null || Object.entries(filter.labels).every(([k, v]) => task.labels[k] === v))
    )
    matches.sort((a, b) => a.seq - b.seq)
    const limit = Math.min(MAX_PAGE_SIZE, page.limit ?? DEFAULT_PAGE_SIZE)
    const after = page.cursor != null ? Number.parseInt(page.cursor, 10) : 0
    const start = matches.findIndex((task) => task.seq > after)
    const slice = start < 0 ? [] : matches.slice(start, start + limit)
    const last = slice.at(-1)
    const more = start >= 0 && start + limit < matches.length
    return {
      tasks: slice.map((task) => this.#view(task)),
      nextCursor: more && last != null ? String(last.seq) : undefined,
      total: matches.length
    }
  }

  async cancel(id: string, reason = 'cancelled'): Promise<Task> {
    const task = this.#tasks.get(id)
    if (task == null) throw new UnknownTaskError(id)
    if (FINAL_STATES.has(task.state)) throw new TaskAlreadyFinishedError(id, task.state)
    if (task.state === 'queued') {
      this.#dequeue(task)
      this.#finish(task, 'cancelled', { error: reason })
      await this.#journal!.put(task)
      return this.#view(task)
    }
    const lease = this.#leases.get(id)
    if (lease != null) {
      // Finish now, so a late result from the worker cannot be recorded.
      this.#leases.delete(id)
      this.#release(lease)
      this.#closeAttempt(task, 'cancelled', reason)
      this.#finish(task, 'cancelled', { error: reason })
      lease.controller.abort(new Error(reason))
      if (lease.dispatch === 'pull') void this.#sendAbort(lease.worker, id, lease.token)
    }
    await this.#journal!.put(task)
    return this.#view(task)
  }

  async waitFor(id: string, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Task> {
    const task = this.#tasks.get(id)
    if (task == null) throw new UnknownTaskError(id)
    if (FINAL_STATES.has(task.state)) return this.#view(task)
    const { promise, resolve, reject } = Promise.withResolvers<Task>()
    const listener = (event: CustomEvent<Task>): void => {
      if (event.detail.id === id && FINAL_STATES.has(event.detail.state)) done(() => resolve(event.detail))
    }
    const timer =
      options.timeoutMs != null
        ? setTimeout(
            () => done(() => reject(new WaitTimeoutError(`task ${id} did not finish within ${options.timeoutMs} ms`))),
            options.timeoutMs
          )
        : undefined
    const onAbort = (): void => done(() => reject(options.signal?.reason ?? new Error('aborted')))
    const done = (settle: () => void): void => {
      clearTimeout(timer)
      this.removeEventListener('task', listener)
      options.signal?.removeEventListener('abort', onAbort)
      settle()
    }
    this.addEventListener('task', listener)
    options.signal?.addEventListener('abort', onAbort, { once: true })
    return promise
  }

  async setPriority(id: string, priority: number): Promise<Task> {
    const task = this.#tasks.get(id)
    if (task == null) throw new UnknownTaskError(id)
    if (task.state !== 'queued') throw new TaskNotQueuedError(id, task.state)
    this.#dequeue(task)
    task.priority = priority
    task.updatedAt = Date.now()
    this.#enqueue(task)
    await this.#journal!.put(task)
    this.#emit(task)
    return this.#view(task)
  }

  async retry(id: string): Promise<Task> {
    const task = this.#tasks.get(id)
    if (task == null) throw new UnknownTaskError(id)
    if (task.state !== 'failed' && task.state !== 'dead' && task.state !== 'cancelled')
      throw new TaskNotRetryableError(id, task.state)
    task.state = 'queued'
    task.runAt = Date.now()
    task.updatedAt = Date.now()
    task.finishedAt = undefined
    task.expiresAt = undefined
    task.result = undefined
    task.error = undefined
    task.leaseLosses = 0
    // A manual retry grants one more attempt on top of those already used.
    task.retry = { ...task.retry, maxAttempts: Math.max(task.retry.maxAttempts, task.attempts + 1) }
    this.#enqueue(task)
    await this.#journal!.put(task)
    this.#emit(task)
    return this.#view(task)
  }

  async pause(): Promise<void> {
    this.#paused = true
    await this.#saveState()
  }

  async resume(): Promise<void> {
    this.#paused = false
    await this.#saveState()
    this.#schedulePump()
  }

  /** Removes finished or queued tasks by state; running tasks must be cancelled first. */
  async clear(states: TaskState[], confirm: boolean): Promise<number> {
    if (!confirm) throw new ConfirmationRequiredError('queue_clear removes tasks for good; pass confirm: true')
    let removed = 0
    for (const task of [...this.#tasks.values()]) {
      if (!states.includes(task.state) || task.state === 'running') continue
      if (task.state === 'queued') this.#dequeue(task)
      await this.#remove(task)
      removed++
    }
    return removed
  }

  stats(): QueueStats {
    const counts: Record<TaskState, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0, dead: 0 }
    for (const task of this.#tasks.values()) counts[task.state]++
    const cutoff = Date.now() - THROUGHPUT_WINDOW_MS
    while (this.#completions.length > 0 && this.#completions[0]! < cutoff) this.#completions.shift()
    const windowStart = Math.max(cutoff, this.#completions[0] ?? Date.now())
    const windowMs = Math.max(1000, Date.now() - windowStart)
    return {
      paused: this.#paused,
      counts,
      total: this.#tasks.size,
      throughputPerSec: Math.round((this.#completions.length / windowMs) * 1000 * 100) / 100,
      meanWaitMs: this.#waitCount === 0 ? 0 : Math.round(this.#waitSum / this.#waitCount),
      meanRunMs: this.#runCount === 0 ? 0 : Math.round(this.#runSum / this.#runCount),
      completed: this.#runCount,
      journal: { writes: this.#journal?.writes ?? 0, batches: this.#journal?.batches ?? 0 }
    }
  }

  status(): unknown {
    return { ...this.stats(), dispatchMode: this.#dispatchMode, leaseMs: this.#leaseMs, worker: this.worker.status() }
  }

  async health(): Promise<{ ok: boolean; detail: string }> {
    const stats = this.stats()
    return {
      ok: this.#started,
      detail: `${stats.counts.queued} queued, ${stats.counts.running} running${this.#paused ? ', paused' : ''}; worker ${this.worker.runningCount}/${this.worker.maxConcurrency}`
    }
  }

  // ---------------------------------------------------------------- scheduling

  #enqueue(task: StoredTask): void {
    if (task.runAt > Date.now()) {
      this.#delayed.add(task.id)
      this.#armDelayTimer()
      return
    }
    const bucket = this.#buckets[task.priority]!
    // FIFO by seq: appends are the common case; a re-queued older task is inserted in place.
    if (bucket.length === 0 || this.#tasks.get(bucket.at(-1)!)!.seq < task.seq) bucket.push(task.id)
    else {
      let lo = 0
      let hi = bucket.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (this.#tasks.get(bucket[mid]!)!.seq < task.seq) lo = mid + 1
        else hi = mid
      }
      bucket.splice(lo, 0, task.id)
    }
    this.#schedulePump()
  }

  #dequeue(task: StoredTask): void {
    if (this.#delayed.delete(task.id)) return
    const bucket = this.#buckets[task.priority]!
    const index = bucket.indexOf(task.id)
    if (index >= 0) bucket.splice(index, 1)
  }

  #armDelayTimer(): void {
    clearTimeout(this.#delayTimer)
    let next = Number.POSITIVE_INFINITY
    for (const id of this.#delayed) next = Math.min(next, this.#tasks.get(id)?.runAt ?? next)
    if (!Number.isFinite(next)) return
    this.#delayTimer = setTimeout(
      () => {
        const now = Date.now()
        for (const id of [...this.#delayed]) {
          const task = this.#tasks.get(id)
          if (task == null || task.runAt <= now) {
            this.#delayed.delete(id)
            if (task != null) this.#enqueue(task)
          }
        }
        this.#armDelayTimer()
      },
      Math.max(0, next - Date.now())
    )
    this.#delayTimer.unref()
  }

  #schedulePump(): void {
    if (this.#pumpScheduled || !this.#started) return
    this.#pumpScheduled = true
    setImmediate(() => {
      this.#pumpScheduled = false
      this.#pump()
    })
  }

  /** Hands ready tasks to workers, highest priority first, while workers have room. */
  #pump(): void {
    if (this.#paused || !this.#started) return
    const blocked = new Set<string>()
    for (let priority = 10; priority >= 0; priority--) {
      const bucket = this.#buckets[priority]!
      let index = 0
      while (index < bucket.length) {
        const task = this.#tasks.get(bucket[index]!)
        if (task == null || task.state !== 'queued') {
          bucket.splice(index, 1)
          continue
        }
        // A saturated tool blocks its lower-priority tasks too, so priorities hold.
        const key = `${task.tool}\0${task.placement?.peer ?? ''}\0${task.placement?.local === true}`
        if (blocked.has(key)) {
          index++
          continue
        }
        const choice = this.#chooseWorker(task)
        if (choice.kind === 'busy' || choice.kind === 'none') {
          blocked.add(key)
          if (choice.kind === 'none') this.#noWorker(task)
          index++
          continue
        }
        bucket.splice(index, 1)
        task.reason = undefined
        if (choice.kind === 'local') this.#runLocal(task)
        else void this.#runPushed(task, choice.peer)
      }
    }
  }

  #chooseWorker(task: StoredTask): WorkerChoice {
    const placement = task.placement
    const candidates: Candidate[] = []
    let exists = false
    const now = Date.now()
    if (placement?.peer == null || placement.peer === this.#self) {
      if (
        this.worker.offers(task.tool, 'local') &&
        (placement?.tags ?? []).every((tag) => this.#localTags(task.tool).includes(tag))
      ) {
        exists = true
        if (this.worker.freeSlots > 0) {
          candidates.push({
            peerId: LOCAL,
            inFlight: this.worker.runningCount,
            queued: 0,
            maxConcurrency: this.worker.maxConcurrency,
            latencyMs: 0,
            tags: this.#localTags(task.tool)
          })
        }
      }
    }
    const mesh = this.#mesh
    if (placement?.local !== true && mesh != null && this.#dispatchMode !== 'pull') {
      for (const peer of mesh.peers()) {
        const tool = peer.tools.get(task.tool)
        if (tool == null) continue
        if (placement?.peer != null && placement.peer !== peer.peerId) continue
        const worker = peer.worker
        if (worker != null && !worker.accepting) continue
        const tags = [...tool.advert.tags, ...(worker?.tags ?? [])]
        if (!(placement?.tags ?? []).every((tag) => tags.includes(tag))) continue
        exists = true
        // A briefly disconnected worker gets work again once it is back (or is dropped).
        if (peer.disconnectedAt != null) continue
        const capacity = worker?.maxConcurrency ?? peer.capacity.maxConcurrency
        const outstanding = this.#outstanding.get(peer.peerId) ?? 0
        if (outstanding >= capacity || (this.#cooldown.get(peer.peerId) ?? 0) > now) continue
        candidates.push({
          peerId: peer.peerId,
          inFlight: outstanding,
          queued: 0,
          maxConcurrency: capacity,
          latencyMs: peer.latencyMs,
          tags
        })
      }
    }
    if (candidates.length === 0) return exists ? { kind: 'busy' } : { kind: 'none' }
    // Retries prefer workers not tried before; a spread group prefers workers not already running it.
    const avoid = new Set(task.history.map((attempt) => (attempt.worker === this.#self ? LOCAL : attempt.worker)))
    if (placement?.spread != null) {
      for (const [id, lease] of this.#leases) {
        if (this.#tasks.get(id)?.placement?.spread === placement.spread) avoid.add(lease.worker)
      }
    }
    const ranked = rankCandidates(candidates, { key: `${task.id}:${task.attempts}`, tried: avoid })
    const best = ranked[0]!
    return best.peerId === LOCAL ? { kind: 'local' } : { kind: 'push', peer: best.peerId }
  }

  #localTags(tool: string): string[] {
    return [...(this.#node.registry.get(tool)?.meta.tags ?? []), ...(this.worker.registration?.tags ?? [])]
  }

  #noWorker(task: StoredTask): void {
    const reason = `no worker offers tool "${task.tool}"${task.placement?.peer != null ? ` on peer ${task.placement.peer}` : ''}`
    if (task.failIfNoWorker) {
      this.#dequeue(task)
      this.#finish(task, 'failed', { error: reason })
      this.#journal!.putLater(task)
      return
    }
    if (task.reason !== reason) {
      task.reason = reason
      this.#emit(task)
    }
  }

  #startAttempt(task: StoredTask, worker: string, dispatch: Lease['dispatch']): Lease {
    const now = Date.now()
    const lease: Lease = {
      worker,
      token: randomUUID(),
      dispatch,
      controller: new AbortController(),
      expiresAt: now + this.#leaseMs
    }
    task.state = 'running'
    task.attempts++
    task.startedAt = now
    task.updatedAt = now
    task.worker = worker === LOCAL ? this.#self : worker
    task.lease = { worker, token: lease.token, dispatch }
    task.history.push({ attempt: task.attempts, worker: task.worker, dispatch, startedAt: now })
    this.#leases.set(task.id, lease)
    if (worker !== LOCAL) this.#outstanding.set(worker, (this.#outstanding.get(worker) ?? 0) + 1)
    this.#waitSum += now - Math.max(task.createdAt, task.runAt)
    this.#waitCount++
    this.#journal!.putLater(task)
    this.#emit(task)
    return lease
  }

  #release(lease: Lease): void {
    if (lease.worker === LOCAL) return
    const left = (this.#outstanding.get(lease.worker) ?? 1) - 1
    if (left <= 0) this.#outstanding.delete(lease.worker)
    else this.#outstanding.set(lease.worker, left)
  }

  #runLocal(task: StoredTask): void {
    const lease = this.#startAttempt(task, LOCAL, 'local')
    this.worker
      .execute(
        { id: task.id, token: lease.token, tool: task.tool, args: task.args, timeoutMs: task.timeoutMs, owner: LOCAL },
        { signal: lease.controller.signal, reportProgress: () => {} }
      )
      .then(
        (result) => this.#settle(task.id, lease.token, { result }),
        (err: unknown) => {
          if (err instanceof ProtocolError && err.code === ERROR_CODE_BUSY)
            this.#notExecuted(task.id, lease.token, errorMessage(err))
          else if (err instanceof UnknownToolError)
            this.#settle(task.id, lease.token, { result: errorResult(err.message) })
          else this.#settle(task.id, lease.token, { result: errorResult(errorMessage(err)) })
        }
      )
  }

  async #runPushed(task: StoredTask, peer: string): Promise<void> {
    const lease = this.#startAttempt(task, peer, 'push')
    // The lease is on disk before the worker hears of the task, so a crash of
    // this node can only lead to a re-lease, never to a second run.
    await this.#journal!.put(task).catch((err: unknown) =>
      log.error('journaling the lease of %s failed: %s', task.id, errorMessage(err))
    )
    if (this.#leases.get(task.id) !== lease) return
    const mesh = this.#mesh!
    let client: Awaited<ReturnType<MeshPort['client']>>
    try {
      client = await mesh.client(peerIdFromString(peer), { signal: lease.controller.signal })
    } catch (err) {
      this.#notExecuted(task.id, lease.token, errorMessage(err), peer)
      return
    }
    const meta: InboundTask = { id: task.id, token: lease.token, timeoutMs: task.timeoutMs, leaseMs: this.#leaseMs }
    try {
      const result = (await client.callTool(
        { name: task.tool, arguments: task.args, _meta: { [TASK_META_KEY]: meta } },
        {
          signal: lease.controller.signal,
          // The lease: the worker's heartbeats (progress) must keep arriving.
          timeout: this.#leaseMs,
          resetTimeoutOnProgress: true,
          maxTotalTimeout: task.timeoutMs + TIMEOUT_GRACE_MS,
          onprogress: () => {
            lease.expiresAt = Date.now() + this.#leaseMs
          }
        }
      )) as CallToolResult
      this.#settle(task.id, lease.token, { result })
    } catch (err) {
      if (lease.controller.signal.aborted) return
      if (err instanceof ProtocolError && (err.code === ERROR_CODE_BUSY || err.code === ERROR_CODE_DENIED)) {
        this.#notExecuted(task.id, lease.token, err.message, peer)
      } else if (err instanceof ProtocolError) {
        this.#settle(task.id, lease.token, { result: errorResult(`rejected by ${peer}: ${err.message}`) })
      } else if (err instanceof SdkError && err.code === SdkErrorCode.RequestTimeout) {
        const timedOut = Date.now() - (task.startedAt ?? 0) >= task.timeoutMs
        if (timedOut) this.#settle(task.id, lease.token, { timeout: true })
        else this.#leaseLost(task.id, lease.token, `no heartbeat from ${peer} for ${this.#leaseMs} ms`)
      } else {
        this.#leaseLost(task.id, lease.token, `lost ${peer}: ${errorMessage(err)}`)
      }
    }
  }

  /** The worker certainly did not run the attempt: undo it and requeue. */
  #notExecuted(id: string, token: string, reason: string, peer?: string): void {
    const task = this.#tasks.get(id)
    const lease = this.#leases.get(id)
    if (task == null || lease == null || lease.token !== token) return
    this.#leases.delete(id)
    this.#release(lease)
    if (peer != null) this.#cooldown.set(peer, Date.now() + 1000)
    // The attempt stays in the history as `rejected` (when and where it was
    // dispatched is worth seeing) but is not counted against maxAttempts.
    task.attempts--
    this.#closeAttempt(task, 'rejected', reason)
    const rejected = task.history.filter((attempt) => attempt.outcome === 'rejected')
    if (rejected.length > MAX_REJECTED_IN_HISTORY) task.history.splice(task.history.indexOf(rejected[0]!), 1)
    task.state = 'queued'
    task.lease = undefined
    task.reason = reason
    task.updatedAt = Date.now()
    this.#journal!.putLater(task)
    this.#enqueue(task)
    this.#emit(task)
  }

  /** A worker died or went silent mid-attempt: requeue, counting the attempt. */
  #leaseLost(id: string, token: string, reason: string): void {
    const task = this.#tasks.get(id)
    const lease = this.#leases.get(id)
    if (task == null || lease == null || lease.token !== token) return
    this.#leases.delete(id)
    this.#release(lease)
    lease.controller.abort(new Error(reason))
    this.#cooldown.set(lease.worker, Date.now() + 1000)
    log('task %s lost its lease: %s', id, reason)
    this.#closeAttempt(task, 'lease-lost', reason)
    task.leaseLosses = (task.leaseLosses ?? 0) + 1
    if (task.leaseLosses > MAX_LEASE_LOSSES && task.attempts >= task.retry.maxAttempts) {
      this.#finish(task, 'dead', { error: `lease lost ${task.leaseLosses} times; last: ${reason}` })
    } else {
      task.state = 'queued'
      task.lease = undefined
      task.reason = reason
      task.updatedAt = Date.now()
      this.#enqueue(task)
      this.#emit(task)
    }
    this.#journal!.putLater(task)
  }

  /** Records the outcome of the attempt holding `token`; anything else is a stale answer and ignored. */
  #settle(id: string, token: string, outcome: { result?: CallToolResult; timeout?: boolean }): void {
    const task = this.#tasks.get(id)
    const lease = this.#leases.get(id)
    if (task == null || lease == null || lease.token !== token) return
    this.#leases.delete(id)
    this.#release(lease)
    const now = Date.now()
    this.#runSum += now - (task.startedAt ?? now)
    this.#runCount++
    const failed = outcome.timeout === true || outcome.result?.isError === true
    if (!failed) {
      this.#closeAttempt(task, 'succeeded')
      this.#finish(task, 'succeeded', { result: outcome.result })
      this.#journal!.putLater(task)
      return
    }
    const error = outcome.timeout === true ? `timed out after ${task.timeoutMs} ms` : resultText(outcome.result!)
    this.#closeAttempt(task, outcome.timeout === true ? 'timeout' : 'failed', error)
    if (task.attempts < task.retry.maxAttempts && task.retry.policy !== 'none') {
      task.state = 'queued'
      task.lease = undefined
      task.error = error
      task.runAt = now + backoffMs(task.retry, task.attempts)
      task.updatedAt = now
      task.reason = `retrying after attempt ${task.attempts} failed: ${error}`
      this.#enqueue(task)
      this.#emit(task)
    } else {
      const final: TaskState = task.retry.maxAttempts > 1 ? 'dead' : 'failed'
      this.#finish(task, final, { result: outcome.result, error })
    }
    this.#journal!.putLater(task)
  }

  #closeAttempt(task: StoredTask, outcome: AttemptOutcome, error?: string): void {
    const attempt = task.history.at(-1)
    if (attempt == null || attempt.finishedAt != null) return
    attempt.finishedAt = Date.now()
    attempt.outcome = outcome
    if (error != null) attempt.error = error.slice(0, 2000)
  }

  #finish(task: StoredTask, state: TaskState, detail: { result?: CallToolResult; error?: string }): void {
    const now = Date.now()
    task.state = state
    task.finishedAt = now
    task.updatedAt = now
    task.lease = undefined
    task.reason = undefined
    task.expiresAt = now + this.#resultTtlMs
    if (detail.result != null) task.result = detail.result
    if (detail.error != null) task.error = detail.error
    else if (state === 'succeeded') task.error = undefined
    this.#completions.push(now)
    this.#emit(task)
    this.#schedulePump()
  }

  async #remove(task: StoredTask): Promise<void> {
    this.#tasks.delete(task.id)
    if (task.idempotencyKey != null && this.#idempotency.get(task.idempotencyKey) === task.id)
      this.#idempotency.delete(task.idempotencyKey)
    await this.#journal!.delete(task.id)
  }

  /** Expires pull leases without heartbeats and deletes finished tasks past their retention. */
  #sweep(): void {
    const now = Date.now()
    for (const [id, lease] of this.#leases) {
      if (lease.dispatch === 'pull' && lease.expiresAt < now)
        this.#leaseLost(id, lease.token, `no heartbeat from ${lease.worker}`)
    }
    for (const task of this.#tasks.values()) {
      if (task.expiresAt != null && task.expiresAt < now && FINAL_STATES.has(task.state)) void this.#remove(task)
    }
    for (const [peer, until] of this.#cooldown) if (until < now) this.#cooldown.delete(peer)
  }

  // ---------------------------------------------------------------- pull dispatch

  /** Announces queued tasks no known worker can take, so unknown or idle workers can claim them. */
  #announceOpen(): void {
    if (this.#paused || !this.#started || this.#dispatchMode === 'push') return
    const open: Announcement['tasks'] = []
    for (let priority = 10; priority >= 0 && open.length < 256; priority--) {
      for (const id of this.#buckets[priority]!) {
        const task = this.#tasks.get(id)
        if (task == null || task.state !== 'queued' || task.placement?.local === true) continue
        open.push({
          id,
          tool: task.tool,
          priority: task.priority,
          tags: task.placement?.tags ?? [],
          peer: task.placement?.peer
        })
        if (open.length >= 256) break
      }
    }
    if (open.length === 0) return
    const announcement: Announcement = {
      v: 1,
      mesh: this.#node.config.mesh.name,
      owner: this.#self,
      ts: Date.now(),
      tasks: open
    }
    this.#node.libp2p.services.pubsub
      .publish(this.#topic, new TextEncoder().encode(JSON.stringify(announcement)))
      .catch((err: unknown) => log('task announcement failed: %s', errorMessage(err)))
  }

  #handleAnnouncement(message: Message): void {
    if (message.topic !== this.#topic) return
    let announcement: Announcement
    try {
      announcement = announcementSchema.parse(JSON.parse(new TextDecoder().decode(message.data)))
    } catch {
      return
    }
    if (announcement.owner === this.#self || announcement.mesh !== this.#node.config.mesh.name) return
    for (const open of announcement.tasks) {
      if (open.peer != null && open.peer !== this.#self) continue
      if (!this.worker.offers(open.tool, 'peer')) continue
      if (!open.tags.every((tag) => this.#localTags(open.tool).includes(tag))) continue
      if (this.#claiming.has(open.id) || this.worker.isRunning(open.id)) continue
      const slot = this.worker.reserve()
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
    const mesh = this.#mesh
    if (mesh == null) return
    let ownerId: PeerId
    try {
      ownerId = peerIdFromString(owner)
    } catch {
      return
    }
    try {
      const client = await mesh.client(ownerId)
      const answer = await client.request({ method: METHOD_CLAIM, params: { taskId } }, claimResult, { timeout: 5_000 })
      if (!answer.granted) return
      // The owner may grant a better-ranked task than the one claimed (#bestClaimFor):
      // from here on everything refers to the granted task.
      const granted = answer.task
      const heartbeat = setInterval(
        () => {
          client
            .request(
              { method: METHOD_HEARTBEAT, params: { taskId: granted.id, token: granted.token } },
              heartbeatResult,
              {
                timeout: granted.leaseMs
              }
            )
            .then((beat) => {
              if (!beat.ok || beat.cancel)
                this.worker.abort(granted.id, beat.cancel ? 'cancelled by its owner' : 'lease no longer held')
            })
            .catch((err: unknown) => log('heartbeat for %s failed: %s', granted.id, errorMessage(err)))
        },
        Math.max(100, Math.floor(granted.leaseMs / HEARTBEAT_FRACTION))
      )
      heartbeat.unref()
      let result: CallToolResult
      let notExecuted: string | undefined
      try {
        // Hand the reserved slot to the run in the same tick, so nothing else takes it.
        slot()
        result = await this.worker.execute(
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
        if (err instanceof ProtocolError && err.code === ERROR_CODE_BUSY) notExecuted = err.message
        result = errorResult(errorMessage(err))
      } finally {
        clearInterval(heartbeat)
      }
      await this.#reportCompletion(owner, granted.id, granted.token, result, notExecuted)
    } catch (err) {
      log('claiming %s from %s failed: %s', taskId, owner, errorMessage(err))
    }
  }

  async #reportCompletion(
    owner: string,
    taskId: string,
    token: string,
    result: CallToolResult,
    notExecuted?: string
  ): Promise<void> {
    const mesh = this.#mesh!
    const params = notExecuted == null ? { taskId, token, result } : { taskId, token, result, notExecuted }
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const client = await mesh.client(peerIdFromString(owner))
        await client.request({ method: METHOD_COMPLETE, params }, completeResult, {
          timeout: 10_000
        })
        return
      } catch (err) {
        log('reporting %s to %s failed (attempt %d): %s', taskId, owner, attempt + 1, errorMessage(err))
        await mesh.drop(owner)
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt))
      }
    }
  }

  async #sendAbort(worker: string, taskId: string, token: string): Promise<void> {
    try {
      const client = await this.#mesh!.client(peerIdFromString(worker))
      await client.request({ method: METHOD_ABORT, params: { taskId, token } }, abortResult, { timeout: 5_000 })
    } catch (err) {
      log('abort of %s on %s failed (its heartbeat will carry the cancel): %s', taskId, worker, errorMessage(err))
    }
  }

  #claimableBy(task: StoredTask, peer: string): boolean {
    return task.placement?.local !== true && (task.placement?.peer == null || task.placement.peer === peer)
  }

  /**
   * The task a claim is granted: the claimed one, unless a queued task of
   * the same tool ranks ahead of it (higher priority, or earlier in its
   * class) and this worker may take it too. Workers claim from an
   * announcement that can be seconds old; a task requeued since (its worker
   * was busy) must not lose its place to lower-priority ones. A substitute
   * asks nothing the claimed task did not: same tool, no tags beyond the
   * claimed task's, no spread constraint.
   */
  #bestClaimFor(claimed: StoredTask, peer: string): StoredTask {
    const now = Date.now()
    const tags = new Set(claimed.placement?.tags ?? [])
    for (let priority = this.#buckets.length - 1; priority >= claimed.priority; priority--) {
      for (const id of this.#buckets[priority]!) {
        if (id === claimed.id) return claimed
        const task = this.#tasks.get(id)
        if (task == null || task.tool !== claimed.tool || task.runAt > now || task.placement?.spread != null) continue
        if (!this.#claimableBy(task, peer) || !(task.placement?.tags ?? []).every((tag) => tags.has(tag))) continue
        return task
      }
    }
    return claimed
  }

  #registerPeerMethods(): void {
    const front = this.#node.front
    front.addPeerMethod({
      method: METHOD_CLAIM,
      params: claimParams,
      handler: async (params, ctx) => {
        const { taskId } = params as { taskId: string }
        const claimed = this.#tasks.get(taskId)
        if (claimed == null || claimed.state !== 'queued' || this.#paused || claimed.runAt > Date.now()) {
          return { granted: false, reason: claimed == null ? 'unknown task' : `task is ${claimed.state}` }
        }
        if (!this.#claimableBy(claimed, ctx.peerId)) {
          return { granted: false, reason: 'placement does not allow this peer' }
        }
        const task = this.#bestClaimFor(claimed, ctx.peerId)
        this.#dequeue(task)
        const lease = this.#startAttempt(task, ctx.peerId, 'pull')
        return {
          granted: true,
          task: {
            id: task.id,
            token: lease.token,
            tool: task.tool,
            args: task.args,
            timeoutMs: task.timeoutMs,
            leaseMs: this.#leaseMs
          }
        }
      }
    })
    front.addPeerMethod({
      method: METHOD_HEARTBEAT,
      params: heartbeatParams,
      handler: async (params, ctx) => {
        const { taskId, token } = params as { taskId: string; token: string }
        const lease = this.#leases.get(taskId)
        if (lease == null || lease.token !== token || lease.worker !== ctx.peerId) {
          const task = this.#tasks.get(taskId)
          return { ok: false, cancel: task?.state === 'cancelled' }
        }
        lease.expiresAt = Date.now() + this.#leaseMs
        return { ok: true, cancel: false }
      }
    })
    front.addPeerMethod({
      method: METHOD_COMPLETE,
      params: completeParams,
      handler: async (params, ctx) => {
        const { taskId, token, result, notExecuted } = params as {
          taskId: string
          token: string
          result: CallToolResult
          notExecuted?: string
        }
        const lease = this.#leases.get(taskId)
        if (lease == null || lease.token !== token || lease.worker !== ctx.peerId) return { accepted: false }
        if (notExecuted != null) this.#notExecuted(taskId, token, notExecuted, ctx.peerId)
        else this.#settle(taskId, token, { result })
        return { accepted: true }
      }
    })
    front.addPeerMethod({
      method: METHOD_ABORT,
      params: abortParams,
      handler: async (params, ctx) => {
        const { taskId } = params as { taskId: string }
        return { aborted: this.worker.abort(taskId, `cancelled by its owner ${ctx.peerId}`) }
      }
    })
    front.addPeerMethod({
      method: METHOD_ATTACH,
      params: attachParams,
      handler: async (params, ctx) => {
        const { taskId, token } = params as { taskId: string; token: string }
        // Heartbeats while waiting keep the restarted owner's new lease alive.
        const beat =
          ctx.progressToken != null
            ? setInterval(
                () => {
                  void ctx
                    .notify('notifications/progress', { progressToken: ctx.progressToken!, progress: Date.now() })
                    .catch(() => {})
                },
                Math.max(100, Math.floor(this.#leaseMs / HEARTBEAT_FRACTION))
              )
            : undefined
        try {
          const result = await this.worker.attach(taskId, token, ctx.signal)
          return result == null ? { state: 'unknown' } : { state: 'finished', result }
        } finally {
          clearInterval(beat)
        }
      }
    })
  }

  // ---------------------------------------------------------------- push, worker side

  async #executePushed(
    peer: string,
    tool: string,
    args: JsonObject,
    task: InboundTask,
    ctx: { signal: AbortSignal; reportProgress: (p: { progress: number; total?: number; message?: string }) => void }
  ): Promise<CallToolResult> {
    if (!this.worker.offers(tool, 'peer')) {
      throw new ProtocolError(ERROR_CODE_BUSY, `busy: this node does not accept tasks for "${tool}"`)
    }
    // The owner cancels with notifications/cancelled; a dropped connection is
    // not a cancel: the task keeps running so a restarted owner can re-lease it.
    const controller = new AbortController()
    const onAbort = (): void => {
      const reason: unknown = ctx.signal.reason
      if (reason instanceof SdkError && reason.code === SdkErrorCode.ConnectionClosed) {
        log('owner %s disconnected; task %s keeps running for a re-lease', peer, task.id)
        return
      }
      controller.abort(reason)
    }
    if (ctx.signal.aborted) onAbort()
    else ctx.signal.addEventListener('abort', onAbort, { once: true })
    // Heartbeats ride the call as progress notifications; the owner renews the lease on each.
    let beats = 0
    const heartbeat = setInterval(
      () => ctx.reportProgress({ progress: ++beats, message: 'heartbeat' }),
      Math.max(100, Math.floor(task.leaseMs / HEARTBEAT_FRACTION))
    )
    heartbeat.unref()
    try {
      return await this.worker.execute(
        { id: task.id, token: task.token, tool, args, timeoutMs: task.timeoutMs, owner: peer },
        { signal: controller.signal, reportProgress: ctx.reportProgress }
      )
    } finally {
      clearInterval(heartbeat)
      ctx.signal.removeEventListener('abort', onAbort)
    }
  }

  // ---------------------------------------------------------------- recovery

  /**
   * Rebuilds the queue from the journal. Queued tasks go back in line. A task
   * that was running locally died with the process: it is requeued with the
   * attempt counted. A task pushed to or claimed by a peer is re-leased: the
   * owner asks that worker for the result (waiting while it still runs), and
   * requeues it only if the worker no longer knows it.
   */
  async #recover(): Promise<void> {
    const tasks = (await this.#journal!.loadAll()) as StoredTask[]
    let requeued = 0
    let releasing = 0
    for (const task of tasks.sort((a, b) => a.seq - b.seq)) {
      this.#tasks.set(task.id, task)
      this.#seq = Math.max(this.#seq, task.seq)
      if (task.idempotencyKey != null) this.#idempotency.set(task.idempotencyKey, task.id)
      if (task.state === 'queued') this.#enqueue(task)
      else if (task.state === 'running') {
        const stored = task.lease
        if (stored == null || stored.worker === LOCAL || stored.dispatch === 'local') {
          this.#closeAttempt(task, 'lease-lost', 'owner restarted while the task ran locally')
          task.state = 'queued'
          task.lease = undefined
          this.#enqueue(task)
          this.#journal!.putLater(task)
          requeued++
        } else {
          const lease: Lease = { ...stored, controller: new AbortController(), expiresAt: Date.now() + this.#leaseMs }
          this.#leases.set(task.id, lease)
          this.#outstanding.set(lease.worker, (this.#outstanding.get(lease.worker) ?? 0) + 1)
          releasing++
          if (stored.dispatch === 'push') void this.#reattach(task, lease)
        }
      }
    }
    if (tasks.length > 0) log('recovered %d tasks (%d requeued, %d re-leasing)', tasks.length, requeued, releasing)
  }

  async #reattach(task: StoredTask, lease: Lease): Promise<void> {
    const mesh = this.#mesh
    if (mesh == null) {
      this.#leaseLost(task.id, lease.token, 'no mesh to reach the worker')
      return
    }
    try {
      const client = await mesh.client(peerIdFromString(lease.worker), { signal: lease.controller.signal })
      const answer = await client.request(
        { method: METHOD_ATTACH, params: { taskId: task.id, token: lease.token } },
        attachResult,
        {
          signal: lease.controller.signal,
          timeout: this.#leaseMs,
          resetTimeoutOnProgress: true,
          onprogress: () => {
            lease.expiresAt = Date.now() + this.#leaseMs
          }
        }
      )
      if (answer.state === 'finished') this.#settle(task.id, lease.token, { result: answer.result as CallToolResult })
      else this.#leaseLost(task.id, lease.token, `worker ${lease.worker} no longer knows the task`)
    } catch (err) {
      if (!lease.controller.signal.aborted)
        this.#leaseLost(task.id, lease.token, `re-lease from ${lease.worker} failed: ${errorMessage(err)}`)
    }
  }

  // ---------------------------------------------------------------- helpers

  #offeredByPeers(tool: string): boolean {
    return this.#mesh?.peers().some((peer) => peer.tools.has(tool)) ?? false
  }

  #remoteMeta(tool: string): { retry?: TaskRetry; priority?: number; timeoutMs?: number } | undefined {
    for (const peer of this.#mesh?.peers() ?? []) {
      const entry = peer.tools.get(tool)
      if (entry == null) continue
      const { retry, priority, timeoutMs } = entry.advert
      return { retry: retry != null ? { ...retry, jitter: true } : undefined, priority, timeoutMs }
    }
    return undefined
  }

  async #saveState(): Promise<void> {
    await this.#journal?.saveState({ paused: this.#paused, seq: this.#seq })
  }

  #emit(task: StoredTask): void {
    if (this.listenerCount('task') === 0) return
    this.safeDispatchEvent('task', { detail: this.#view(task) })
  }

  /** A copy without the internal lease fields, safe to hand out. */
  #view(task: StoredTask): Task {
    const { lease: _lease, leaseLosses: _losses, ...rest } = task
    return { ...rest, history: task.history.map((attempt) => ({ ...attempt })) }
  }
}
