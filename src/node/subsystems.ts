import type { PeerId } from '@libp2p/interface'
import { type Discovery, describeConnections, discovery } from '../discovery/index.js'
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
  const libp2p = node.libp2p
  const mesh = new MeshService(node)
  // peer_list (mesh layer) shows direct/relayed connections through this.
  mesh.describeConnections = (peer: PeerId) =>
    describeConnections(libp2p, peer) as unknown as Array<Record<string, unknown>>
  const discoveryService = discovery({ config: node.config, home: node.home })({ libp2p })
  // Discovery last: it dials peers once every protocol is registered.
  return [mesh, new TaskQueueService(node), createWorkflowService(node), withTools(discoveryService, node)]
}

/** Registers a service's tools after its start and unregisters them before its stop. */
function withTools(service: Discovery, node: MeshNode): NodeSubsystem {
  let registered: string[] = []
  return {
    name: service.name,
    start: async () => {
      await service.start()
      if (registered.length > 0) return
      const tools = service.tools()
      node.registry.registerAll(tools)
      registered = tools.map((tool) => tool.name)
    },
    stop: async () => {
      for (const name of registered) node.registry.unregister(name)
      registered = []
      await service.stop()
    },
    status: () => service.status(),
    health: async () => service.health()
  }
}
