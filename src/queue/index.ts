/**
 * @packageDocumentation
 *
 * The durable task queue: the owner role (journal, priority pump, placement,
 * leases, push and pull dispatch, recovery), the worker role (running pushed
 * and claimed tasks with heartbeats), and the task protocol (peer methods on
 * `/mcp+p2p`, the task topic, the `_meta` key of pushed tasks).
 *
 * @example
 * ```ts
 * const queue = taskQueue({ config: config.queue, meshName: config.mesh.name })({
 *   peerId, datastore, pubsub, workerHost, peerMethods, mesh, gate
 * })
 * await queue.start()
 * registry.registerAll(queue.tools())
 * ```
 */
import type { QueueComponents, QueueInit } from './components.js'
import { TaskQueueService } from './service.js'

export type {
  MeshPort,
  PeerMethods,
  QueueComponents,
  QueueGate,
  QueueInit,
  QueuePubSub,
  TracedRun
} from './components.js'
export { type InboundTask, inboundTaskSchema, TASK_META_KEY, taskTopic } from './protocol.js'
export { type DispatchMode, type QueueStats, TaskQueueService } from './service.js'
export type {
  Task,
  TaskAttempt,
  TaskFilter,
  TaskPage,
  TaskPlacement,
  TaskQueueApi,
  TaskQueueEvents,
  TaskRetry,
  TaskState,
  TaskSubmission
} from './types.js'
export { FINAL_STATES } from './types.js'
export type { AbortOutcome, WorkerHost, WorkerRegistration, WorkerStatus } from './worker/task-worker.js'

/** The task queue service factory (js-libp2p style): `taskQueue(init)(components)`. */
export function taskQueue(init: QueueInit): (components: QueueComponents) => TaskQueueService {
  return (components) => new TaskQueueService(init, components)
}
