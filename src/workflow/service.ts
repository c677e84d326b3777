import type { Tool } from '../tools/types.js'
import { WORKFLOW_SUBSYSTEM } from './constants.js'
import { WorkflowEngine } from './engine/engine.js'
import type { WorkflowComponents, WorkflowInit, WorkflowService, WorkflowServiceStatus } from './index.js'
import { workflowTools } from './tools/index.js'

/**
 * The node's workflow service: the engine on the task queue and datastore it
 * is given, and the six workflow_* MCP tools (the node registers them after
 * `start` and unregisters them before `stop`). Starts after the queue, whose
 * tasks the steps are; resumes unfinished workflows on start.
 */
export class Workflows implements WorkflowService {
  readonly name = WORKFLOW_SUBSYSTEM
  readonly engine: WorkflowEngine
  readonly #tools: Tool[]

  constructor(components: WorkflowComponents, init: WorkflowInit = {}) {
    this.engine = new WorkflowEngine({
      queue: components.queue,
      datastore: components.datastore,
      owner: components.owner,
      describeTool: components.describeTool,
      limits: init.limits
    })
    this.#tools = workflowTools(this.engine)
  }

  /** Loads the journal and resumes unfinished workflows. Safe to call twice. */
  async start(): Promise<void> {
    await this.engine.start()
  }

  /** Detaches from the queue and flushes the journal. Safe to call twice. */
  async stop(): Promise<void> {
    await this.engine.stop()
  }

  tools(): Tool[] {
    return [...this.#tools]
  }

  status(): WorkflowServiceStatus {
    if (!this.engine.started) return { active: 0, known: 0 }
    return this.engine.stats()
  }

  async health(): Promise<{ ok: boolean; detail: string }> {
    if (!this.engine.started) return { ok: false, detail: 'stopped' }
    const stats = this.engine.stats()
    return { ok: true, detail: `${stats.active} running, ${stats.known} journaled` }
  }
}
