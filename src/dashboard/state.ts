import type { MeshPeerSummary } from '../mesh/index.js'
import type { Task, TaskQueueApi } from '../queue/index.js'
import type { GraphView, WorkflowEngine, WorkflowSummary } from '../workflow/index.js'
import { errorMessage } from '../util/errors.js'
import {
  HEALTH_CACHE_MS,
  HEALTH_TIMEOUT_MS,
  STATE_MAX_TASK_PAGES,
  STATE_MAX_TASKS,
  STATE_MAX_WORKFLOWS,
  STATE_TASK_PAGE_SIZE
} from './constants.js'

export interface HealthView {
  healthy: boolean
  checks: Array<{ subsystem: string; ok: boolean; detail: string }>
}

export interface NodeView {
  peerId: string
  version: string
  meshName: string
  uptimeMs: number
  sessions: number
  addresses: string[]
}

/** What the dashboard reads; every field a closure over the node's live services (filled in by src/node/). */
export interface DashboardSources {
  node: () => NodeView
  health: (signal: AbortSignal) => Promise<HealthView>
  /** Peers of the mesh (undefined while the mesh is not running). */
  peers: () => MeshPeerSummary[] | undefined
  /** This node's tools: name, and whether peers may call it. */
  localTools: () => Array<{ name: string; exported: boolean }>
  queue: () => TaskQueueApi | undefined
  workflows: () => WorkflowEngine | undefined
  /** Tool-call latency per tool and route, from the node's metrics (ms). */
  latency?: () => Promise<Array<{ tool: string; route: string; calls: number; meanMs: number }>>
  refreshMs: number
}

export interface TaskRow {
  id: string
  tool: string
  state: string
  priority: number
  attempts: number
  worker?: string
  createdAt: number
  finishedAt?: number
  error?: string
  workflowId?: string
  stepId?: string
}

export interface WorkflowView extends WorkflowSummary {
  graph?: Pick<GraphView, 'nodes' | 'edges'>
}

export interface DashboardState {
  at: number
  refreshMs: number
  node: NodeView
  health: HealthView
  peers: MeshPeerSummary[]
  /** Every tool and who offers it (`local` for this node). */
  tools: Array<{ name: string; providers: string[] }>
  latency: Array<{ tool: string; route: string; calls: number; meanMs: number }>
  tasks: { counts: Record<string, number>; total: number; rows: TaskRow[] }
  workflows: WorkflowView[]
}

function taskRow(task: Task): TaskRow {
  return {
    id: task.id,
    tool: task.tool,
    state: task.state,
    priority: task.priority,
    attempts: task.attempts,
    ...(task.worker != null ? { worker: task.worker } : {}),
    createdAt: task.createdAt,
    ...(task.finishedAt != null ? { finishedAt: task.finishedAt } : {}),
    ...(task.error != null ? { error: task.error } : {}),
    ...(task.labels.workflowId != null ? { workflowId: task.labels.workflowId } : {}),
    ...(task.labels.stepId != null ? { stepId: task.labels.stepId } : {})
  }
}

/**
 * Builds the dashboard's JSON snapshot (`/api/state`) from the node's own
 * status, peer list, task list and workflow graphs: real data only.
 */
export class StateBuilder {
  readonly #sources: DashboardSources
  #health?: { at: number; value: Promise<HealthView> }

  constructor(sources: DashboardSources) {
    this.#sources = sources
  }

  async snapshot(): Promise<DashboardState> {
    const sources = this.#sources
    const peers = sources.peers() ?? []
    const providers = new Map<string, string[]>()
    for (const tool of sources.localTools()) providers.set(tool.name, ['local'])
    for (const peer of peers) {
      for (const name of peer.tools) providers.set(name, [...(providers.get(name) ?? []), peer.peerId])
    }
    const tasks = this.#tasks()
    return {
      at: Date.now(),
      refreshMs: sources.refreshMs,
      node: sources.node(),
      health: await this.#healthCached(),
      peers,
      tools: [...providers].map(([name, by]) => ({ name, providers: by })).sort((a, b) => a.name.localeCompare(b.name)),
      latency: (await sources.latency?.()) ?? [],
      tasks,
      workflows: await this.#workflows()
    }
  }

  /**
   * Counts by state over every task, and the newest STATE_MAX_TASKS as rows.
   * The queue lists oldest first, so this pages through all of it.
   */
  #tasks(): DashboardState['tasks'] {
    const queue = this.#sources.queue()
    const counts: Record<string, number> = {}
    let newest: Task[] = []
    let total = 0
    let cursor: string | undefined
    for (let pages = 0; queue != null && pages < STATE_MAX_TASK_PAGES; pages++) {
      const page = queue.list({}, { cursor, limit: STATE_TASK_PAGE_SIZE })
      total = page.total
      for (const task of page.tasks) counts[task.state] = (counts[task.state] ?? 0) + 1
      newest = [...newest, ...page.tasks].slice(-STATE_MAX_TASKS)
      if (page.nextCursor == null) break
      cursor = page.nextCursor
    }
    return { counts, total, rows: newest.map(taskRow).sort((a, b) => b.createdAt - a.createdAt) }
  }

  async #healthCached(): Promise<HealthView> {
    const now = Date.now()
    if (this.#health == null || now - this.#health.at > HEALTH_CACHE_MS) {
      const value = this.#sources.health(AbortSignal.timeout(HEALTH_TIMEOUT_MS)).catch((err: unknown) => ({
        healthy: false,
        checks: [{ subsystem: 'node', ok: false, detail: errorMessage(err) }]
      }))
      this.#health = { at: now, value }
    }
    return this.#health.value
  }

  async #workflows(): Promise<WorkflowView[]> {
    const engine = this.#sources.workflows()
    if (engine == null) return []
    const summaries = engine
      .list({}, { limit: 1000 })
      .workflows.sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, STATE_MAX_WORKFLOWS)
    return Promise.all(
      summaries.map(async (summary): Promise<WorkflowView> => {
        try {
          const graph = await engine.graph({ workflowId: summary.workflowId }, 'json')
          return { ...summary, graph: { nodes: graph.nodes, edges: graph.edges } }
        } catch {
          return summary
        }
      })
    )
  }
}
