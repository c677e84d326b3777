import { MemoryDatastore } from 'datastore-core'
import type { PeerMethod, PeerMethodContext } from '../../src/mcp/front.js'
import { LeaseBook } from '../../src/queue/owner/leases.js'
import { Scheduler } from '../../src/queue/owner/scheduler.js'
import { QueueMetrics } from '../../src/queue/owner/stats.js'
import { TaskStore } from '../../src/queue/owner/task-store.js'
import type { StoredTask } from '../../src/queue/owner/types.js'
import { TaskWorker } from '../../src/queue/worker/task-worker.js'
import { RuntimeRouter } from '../../src/router/router.js'
import { ToolRegistry } from '../../src/tools/registry.js'
import { TrustGate } from '../../src/trust/index.js'
import type { CatalogPeer } from '../../src/mesh/catalog.js'
import { testTool } from '../helpers/index.js'

export const SELF = 'self-peer'

/** A queued task as the owner stores it. */
export function storedTask(id: string, overrides: Partial<StoredTask> = {}): StoredTask {
  return {
    id,
    tool: 'echo',
    args: { message: id },
    state: 'queued',
    priority: 5,
    seq: 1,
    tags: [],
    argsHash: 'h',
    retry: { policy: 'none', maxAttempts: 1, baseDelayMs: 0, jitter: false, retryOnToolError: false },
    timeoutMs: 10_000,
    runAt: 0,
    createdAt: 0,
    updatedAt: 0,
    attempts: 0,
    history: [],
    failIfNoWorker: false,
    labels: {},
    ...overrides
  }
}

/**
 * The owner's state machine without a node: a task store on a memory
 * datastore, a scheduler whose pump never runs, and the lease book.
 */
export async function ownerParts(
  options: { leaseMs?: number; datastore?: MemoryDatastore; maxFinished?: number; wake?: () => void } = {}
): Promise<{
  store: TaskStore
  scheduler: Scheduler
  leases: LeaseBook
  changes: StoredTask[]
  datastore: MemoryDatastore
}> {
  const datastore = options.datastore ?? new MemoryDatastore()
  const changes: StoredTask[] = []
  const metrics = new QueueMetrics()
  const store = new TaskStore({
    resultTtlMs: 60_000,
    maxFinished: options.maxFinished ?? 10_000,
    onChange: (task) => changes.push(structuredClone(task)),
    onFinish: (at) => metrics.finished(at)
  })
  await store.open(datastore)
  const scheduler = new Scheduler({
    tasks: store.tasks,
    started: () => false,
    paused: () => false,
    choose: () => ({ kind: 'none' }),
    dispatch: () => {},
    noWorker: () => {}
  })
  const leases = new LeaseBook({
    store,
    enqueue: (task) => scheduler.enqueue(task),
    metrics,
    leaseMs: options.leaseMs ?? 1_000,
    self: SELF,
    wake: options.wake
  })
  return { store, scheduler, leases, changes, datastore }
}

/** Adds a task to the store and puts it in line. */
export function queued(parts: { store: TaskStore; scheduler: Scheduler }, task: StoredTask): StoredTask {
  parts.store.add(task)
  parts.scheduler.enqueue(task)
  return task
}

/** Calls a peer method's handler as `peerId` would over `/mcp+p2p` (params validated first, like the front). */
export async function callPeerMethod(
  method: PeerMethod,
  peerId: string,
  params: unknown,
  ctx: Partial<PeerMethodContext> = {}
): Promise<Record<string, unknown>> {
  return method.handler(method.params.parse(params), {
    peerId,
    signal: new AbortController().signal,
    notify: async () => {},
    ...ctx
  })
}

/** A TaskWorker whose one exported tool `gated` runs until released (or aborted). */
export function gatedWorker(): { worker: TaskWorker; release: () => void } {
  const registry = new ToolRegistry()
  const gates: Array<() => void> = []
  registry.register(
    testTool('gated', {
      meta: { export: true },
      handler: async (_args, { signal }) => {
        await new Promise<void>((resolve, reject) => {
          gates.push(resolve)
          signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })
        })
        return { ok: true }
      }
    })
  )
  const host = { registry, router: new RuntimeRouter(registry), isExported: () => true }
  return { worker: new TaskWorker(host, { maxConcurrency: 2 }), release: () => gates.shift()?.() }
}

/**
 * A real trust gate over a registry where every named tool is exported
 * (default: echo and gated), with the given trust config.
 */
export function testGate(
  trust: Partial<ConstructorParameters<typeof TrustGate>[0]['trust']> = {},
  exported: string[] = ['echo', 'gated']
): TrustGate {
  const tools = new Map(exported.map((name) => [name, { meta: { export: true } }]))
  return new TrustGate(
    { export: { tools: [] }, trust: { tools: {}, ...trust } },
    { tools: { get: (name: string) => tools.get(name) } }
  )
}

/** A catalog entry: `peerId` offering `tools` (advert tags `toolTags`), its worker with `workerTags`. */
export function catalogPeer(
  peerId: string,
  options: { tools?: string[]; toolTags?: string[]; workerTags?: string[]; maxConcurrency?: number } & Omit<
    Partial<CatalogPeer>,
    'tools'
  > = {}
): CatalogPeer {
  const { tools = ['echo'], toolTags = [], workerTags = [], maxConcurrency = 4, ...rest } = options
  return {
    peerId,
    seq: 1,
    lastSeen: Date.now(),
    source: 'gossip',
    capacity: { maxConcurrency },
    load: { inFlight: 0, queued: 0 },
    worker: { accepting: true, maxConcurrency, running: 0, tags: workerTags },
    tools: new Map(
      tools.map((name) => [
        name,
        {
          advert: {
            name,
            schemaHash: '0'.repeat(64),
            tags: toolTags,
            category: 'test',
            priority: 5,
            timeoutMs: 1_000
          }
        }
      ])
    ),
    ...rest
  }
}
