import { createDiscovery } from '../discovery/index.js'
import { MeshService } from '../mesh/service.js'
import { TaskQueueService } from '../queue/service.js'
import { createWorkflowService } from '../workflow/service.js'
import type { MeshNode } from './mesh-node.js'
import type { NodeSubsystem } from '../interface/subsystem.js'

/**
 * The node's subsystems, in start order (stopped in reverse). Each layer adds
 * one line here; subsystems register their own MCP tools on start.
 */
export async function createSubsystems(node: MeshNode): Promise<NodeSubsystem[]> {
  // Discovery last: it dials peers once every protocol is registered.
  return [new MeshService(node), new TaskQueueService(node), createWorkflowService(node), createDiscovery(node)]
}
