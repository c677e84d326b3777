import type { MeshNode } from '../node/mesh-node.js'
import type { NodeSubsystem } from '../interface/subsystem.js'
import type { TaskQueueApi } from '../queue/types.js'
import type { JsonObject, Tool } from '../tools/types.js'
import { meshLogger } from '../util/logger.js'
import { WorkflowEngine, type WorkflowLimits } from './engine.js'
import { workflowTools } from './tools/index.js'

const log = meshLogger('workflow')

/** The queue subsystem's name (src/queue). */
export const QUEUE_SUBSYSTEM = 'queue'
export const WORKFLOW_SUBSYSTEM = 'workflow'

/**
 * The node's workflow subsystem: the engine on the node's task queue and
 * datastore, and the six workflow_* MCP tools. Starts after the queue (whose
 * tasks the steps are), resumes unfinished workflows on start; `start` and
 * `stop` are safe to call twice.
 */
export class WorkflowService implements NodeSubsystem {
  readonly name = WORKFLOW_SUBSYSTEM
  readonly #node: MeshNode
  #engine?: WorkflowEngine
  #tools: Tool[] = []

  constructor(node: MeshNode) {
    this.#node = node
  }

  get engine(): WorkflowEngine {
    if (this.#engine == null) throw new Error('the workflow service is not started')
    return this.#engine
  }

  async start(): Promise<void> {
    if (this.#engine != null) return
    const node = this.#node
    const config: Partial<WorkflowLimits> = node.config.workflow
    const engine = new WorkflowEngine({
      queue: () => node.subsystem<NodeSubsystem & TaskQueueApi>(QUEUE_SUBSYSTEM),
      datastore: node.datastore,
      owner: node.peerId.toString(),
      describeTool: (name) => {
        const tool = node.localView.describe(name)
        if (tool == null) return undefined
        return {
          inputSchema: tool.inputSchema as JsonObject,
          outputSchema: tool.outputSchema as JsonObject | undefined
        }
      },
      limits: config
    })
    this.#engine = engine
    if (node.subsystem(QUEUE_SUBSYSTEM) == null) log.error('no task queue on this node: workflows cannot run')
    await engine.start()
    this.#tools = workflowTools(engine)
    node.registry.registerAll(this.#tools)
  }

  async stop(): Promise<void> {
    const engine = this.#engine
    if (engine == null) return
    this.#engine = undefined
    for (const tool of this.#tools) this.#node.registry.unregister(tool.name)
    this.#tools = []
    await engine.stop()
  }

  status(): unknown {
    return this.#engine?.stats() ?? { active: 0, known: 0 }
  }

  async health(): Promise<{ ok: boolean; detail: string }> {
    if (this.#engine == null) return { ok: false, detail: 'stopped' }
    const queue = this.#node.subsystem(QUEUE_SUBSYSTEM) != null
    const stats = this.#engine.stats()
    return {
      ok: queue,
      detail: `${stats.active} running, ${stats.known} journaled${queue ? '' : '; no task queue'}`
    }
  }
}

export function createWorkflowService(node: MeshNode): WorkflowService {
  return new WorkflowService(node)
}
