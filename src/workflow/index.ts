/**
 * Workflows: a durable DAG of tool calls across the mesh. Each step is a
 * task on the node's task queue (leases, retries, cross-peer cancellation),
 * outputs feed later steps through references, and the state is journaled
 * so a restart of the owning node resumes without re-running finished steps.
 *
 * @example
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
export * from './constants.js'
export * from './document.js'
export * from './engine.js'
export * from './errors.js'
export * from './graph.js'
export { WorkflowJournal } from './journal.js'
export { outputOf } from './output.js'
export * from './refs.js'
export { createWorkflowService, QUEUE_SUBSYSTEM, WORKFLOW_SUBSYSTEM, WorkflowService } from './service.js'
export * from './types.js'
export * from './validate.js'
