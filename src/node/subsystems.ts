import { MeshService } from '../mesh/service.js'
import type { MeshNode } from './mesh-node.js'
import type { NodeSubsystem } from './subsystem.js'

/**
 * The node's subsystems, in start order (stopped in reverse). Each layer adds
 * one line here; subsystems register their own MCP tools on start.
 */
export async function createSubsystems(node: MeshNode): Promise<NodeSubsystem[]> {
  return [new MeshService(node)]
}
