import type { CallToolResult } from '@modelcontextprotocol/server'
import { TypedEventEmitter } from 'main-event'
import {
  FINAL_STATES,
  type Task,
  type TaskQueueApi,
  type TaskQueueEvents,
  type TaskSubmission
} from '../../src/queue/types.js'
import type { JsonObject } from '../../src/tools/types.js'

export type FakeHandler = (args: JsonObject, ctx: { signal: AbortSignal; task: Task }) => Promise<unknown>

export interface Execution {
  tool: string
  args: JsonObject
  worker: string
  taskId: string
}

/**
 * An in-memory TaskQueueApi for unit tests of the workflow engine: tasks run
 * their tool's handler on the next tick, on a fake worker chosen from the
 * placement (peer, local, or round robin with spread). Idempotency keys,
 * cancellation (which aborts the handler) and the `task` event behave as the
 * real queue's contract says.
 */
export class FakeQueue extends TypedEventEmitter<TaskQueueEvents> implements TaskQueueApi {
  readonly handlers = new Map<string, FakeHandler>()
  readonly tasks = new Map<string, Task>()
  readonly executions: Execution[] = []
  readonly workers: string[]
  /** While true, submitted tasks stay queued (resume tests). */
  hold = false
  #seq = 0
  #next = 0
  readonly #controllers = new Map<string, AbortController>()
  readonly #keys = new Map<string, string>()

  constructor(workers: string[] = ['peer-a', 'peer-b', 'peer-c']) {
    super()
    this.workers = workers
  }

  on(tool: string, handler: FakeHandler): this {
    this.handlers.set(tool, handler)
    return this
  }

  running(): Task[] {
    return [...this.tasks.values()].filter((task) => task.state === 'running')
  }

  async submit(submission: TaskSubmission): Promise<{ task: Task; created: boolean }> {
    if (submission.idempotencyKey != null) {
      const existing = this.#keys.get(submission.idempotencyKey)
      if (existing != null) return { task: structuredClone(this.tasks.get(existing)!), created: false }
    }
    const now = Date.now()
    const task: Task = {
      id: `task-${++this.#seq}`,
      tool: submission.tool,
      args: submission.args ?? {},
      state: 'queued',
      priority: submission.priority ?? 5,
      seq: this.#seq,
      tags: submission.tags ?? [],
      idempotencyKey: submission.idempotencyKey,
      argsHash: JSON.stringify(submission.args ?? {}),
      retry: {
        policy: 'none',
        maxAttempts: 1,
        baseDelayMs: 0,
        retryOnToolError: false,
        jitter: false,
        ...submission.retry
      },
      timeoutMs: submission.timeoutMs ?? 30_000,
      runAt: now,
      createdAt: now,
      updatedAt: now,
      attempts: 0,
      history: [],
      placement: submission.placement,
      failIfNoWorker: false,
      labels: submission.labels ?? {}
    }
    this.tasks.set(task.id, task)
    if (submission.idempotencyKey != null) this.#keys.set(submission.idempotencyKey, task.id)
    this.#emit(task)
    if (!this.hold) setImmediate(() => this.#run(task))
    return { task: structuredClone(task), created: true }
  }

  /** Starts every held queued task. */
  release(): void {
    this.hold = false
    for (const task of this.tasks.values()) if (task.state === 'queued') setImmediate(() => this.#run(task))
  }

  get(id: string): Task | undefined {
    const task = this.tasks.get(id)
    return task == null ? undefined : structuredClone(task)
  }

  list(): { tasks: Task[]; total: number } {
    return { tasks: [...this.tasks.values()].map((task) => structuredClone(task)), total: this.tasks.size }
  }

  async cancel(id: string, reason = 'cancelled'): Promise<Task> {
    const task = this.tasks.get(id)
    if (task == null) throw new Error(`unknown task ${id}`)
    if (FINAL_STATES.has(task.state)) throw new Error(`task ${id} is already ${task.state}`)
    this.#finish(task, 'cancelled', undefined, reason)
    this.#controllers.get(id)?.abort(new Error(reason))
    return structuredClone(task)
  }

  async waitFor(id: string): Promise<Task> {
    const task = this.tasks.get(id)
    if (task == null) throw new Error(`unknown task ${id}`)
    if (FINAL_STATES.has(task.state)) return structuredClone(task)
    return new Promise((resolve) => {
      const listener = (event: CustomEvent<Task>): void => {
        if (event.detail.id !== id || !FINAL_STATES.has(event.detail.state)) return
        this.removeEventListener('task', listener)
        resolve(event.detail)
      }
      this.addEventListener('task', listener)
    })
  }

  #worker(task: Task): string {
    const placement = task.placement
    if (placement?.peer != null) return placement.peer
    if (placement?.local === true) return 'local'
    return this.workers[this.#next++ % this.workers.length]!
  }

  #run(task: Task): void {
    if (task.state !== 'queued' || this.hold) return
    const handler = this.handlers.get(task.tool)
    task.state = 'running'
    task.attempts++
    task.startedAt = Date.now()
    task.worker = this.#worker(task)
    const controller = new AbortController()
    this.#controllers.set(task.id, controller)
    this.executions.push({ tool: task.tool, args: task.args, worker: task.worker, taskId: task.id })
    this.#emit(task)
    if (handler == null) {
      this.#finish(
        task,
        'failed',
        { content: [{ type: 'text', text: `no handler for ${task.tool}` }], isError: true },
        `no handler for ${task.tool}`
      )
      return
    }
    handler(task.args, { signal: controller.signal, task: structuredClone(task) }).then(
      (output) => {
        if (task.state !== 'running') return
        const result: CallToolResult =
          typeof output === 'object' && output !== null && Array.isArray((output as CallToolResult).content)
            ? (output as CallToolResult)
            : { content: [{ type: 'text', text: JSON.stringify(output) }], structuredContent: output as JsonObject }
        if (result.isError === true) this.#finish(task, 'failed', result, 'tool error')
        else this.#finish(task, 'succeeded', result)
      },
      (err: unknown) => {
        if (task.state !== 'running') return
        const message = err instanceof Error ? err.message : String(err)
        this.#finish(task, 'failed', { content: [{ type: 'text', text: message }], isError: true }, message)
      }
    )
  }

  #finish(task: Task, state: Task['state'], result?: CallToolResult, error?: string): void {
    task.state = state
    task.finishedAt = Date.now()
    task.updatedAt = task.finishedAt
    if (result != null) task.result = result
    if (error != null) task.error = error
    this.#controllers.delete(task.id)
    this.#emit(task)
  }

  #emit(task: Task): void {
    this.safeDispatchEvent('task', { detail: structuredClone(task) })
  }
}

/** Resolves after `ms` of the abort signal not firing; rejects when it fires. */
export async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(new Error('aborted'))
      },
      { once: true }
    )
  })
}

/** A promise with its resolve function, for handlers that wait for the test. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}
