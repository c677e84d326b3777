import type { PeerId } from '@libp2p/interface'
import { describeConnections, discovery } from '../discovery/index.js'
import type { NodeSubsystem } from '../interface/subsystem.js'
import { MeshService } from '../mesh/service.js'
import { TaskQueueService } from '../queue/service.js'
import type { Tool } from '../tools/types.js'
import type { JsonObject } from '../tools/types.js'
import { workflows } from '../workflow/index.js'
import type { MeshNode } from './mesh-node.js'

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
  const queue = new TaskQueueService(node)
  const workflow = workflows({ limits: node.config.workflow })({
    datastore: node.datastore,
    queue,
    owner: node.peerId.toString(),
    describeTool: (name) => {
      const tool = node.localView.describe(name)
      if (tool == null) return undefined
      return { inputSchema: tool.inputSchema as JsonObject, outputSchema: tool.outputSchema as JsonObject | undefined }
    }
  })
  const discoveryService = discovery({ config: node.config, home: node.home })({ libp2p })
  // Discovery last: it dials peers once every protocol is registered.
  return [mesh, queue, withTools(node, workflow), withTools(node, discoveryService)]
}

/** Registers a service's tools after its start and unregisters them before its stop. */
function withTools(node: MeshNode, service: NodeSubsystem & { tools(): Tool[] }): NodeSubsystem {
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
    status: () => service.status?.(),
    health: service.health == null ? undefined : async (signal) => service.health!(signal)
  }
}
