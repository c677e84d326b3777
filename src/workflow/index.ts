/**
 * Workflows: a durable DAG of tool calls across the mesh. Each step is a
 * task on the node's task queue (leases, retries, cross-peer cancellation),
 * outputs feed later steps through references, and the state is journaled
 * so a restart of the owning node resumes without re-running finished steps.
 *
 * @example
 * const service = workflows({ limits: { defaultMaxParallel: 8 } })({ datastore, queue, owner, describeTool })
 * await service.start()
 * registry.registerAll(service.tools()) // the node does this, never the service
 * const engine = service.engine
 * const status = await engine.submit({
 *   name: 'diamond',
 *   steps: [
 *     { id: 'a', tool: 'echo', args: { message: 'hi' } },
 *     { id: 'b', tool: 'sha256', args: { text: { $ref: 'steps.a.output.message' } } },
 *     { id: 'c', tool: 'echo', args: { message: '${steps.a.output.message}!' } },
 *     { id: 'd', tool: 'echo', args: { message: '${steps.b.output.hex} ${steps.c.output.message}' } }
 *   ]
 * })
 * const done = await engine.wait(status.workflowId)
 *
 * @packageDocumentation
 */

import type { Datastore } from 'interface-datastore'
import type { NodeSubsystem } from '../interface/subsystem.js'
import type { TaskQueueApi } from '../queue/types.js'
import type { JsonObject, Tool } from '../tools/types.js'
import type { WorkflowLimits } from './constants.js'
import type { WorkflowEngine } from './engine/engine.js'
import type { WorkflowJournal } from './journal.js'
import { Workflows } from './service.js'

export * from './constants.js'
export * from './document.js'
export { WorkflowEngine } from './engine/engine.js'
export * from './engine/options.js'
export * from './errors.js'
export * from './graph.js'
export { WorkflowJournal } from './journal.js'
export { outputOf } from './output.js'
export * from './refs.js'
export * from './types.js'
export * from './validate.js'

export interface WorkflowInit {
  /** Defaults in constants.ts (`DEFAULT_LIMITS`). */
  limits?: Partial<WorkflowLimits>
}

export interface WorkflowComponents {
  datastore: Datastore
  /** The node's task queue: every step is a task on it. */
  queue: TaskQueueApi
  /** This node's peer id string (the owner of the workflows it schedules). */
  owner: string
  /** A tool of the local + mesh catalog, for validating documents. */
  describeTool: (name: string) => { inputSchema: JsonObject; outputSchema?: JsonObject } | undefined
}

export interface WorkflowServiceStatus {
  active: number
  known: number
  journal?: WorkflowJournal['stats']
}

/** The workflow service as the node sees it; `start`/`stop` are safe to call twice. */
export interface WorkflowService extends NodeSubsystem {
  readonly name: 'workflow'
  readonly engine: WorkflowEngine
  /** The six workflow_* tools; the node registers them after `start` and unregisters them before `stop`. */
  tools(): Tool[]
  status(): WorkflowServiceStatus
  health(): Promise<{ ok: boolean; detail: string }>
}

/** The workflow service's factory, in the js-libp2p pattern: `workflows(init)(components)`. */
export function workflows(init: WorkflowInit = {}): (components: WorkflowComponents) => WorkflowService {
  return (components) => new Workflows(components, init)
}
