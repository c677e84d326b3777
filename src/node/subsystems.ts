import { createDiscovery, describeConnections } from '../discovery/index.js'
import type { NodeSubsystem } from '../interface/subsystem.js'
import { type MeshService, meshService } from '../mesh/index.js'
import { TaskQueueService } from '../queue/service.js'
import type { Tool } from '../tools/types.js'
import { createWorkflowService } from '../workflow/service.js'
import type { MeshNode } from './mesh-node.js'

/**
 * The node's subsystems, in start order (stopped in reverse). The mesh is
 * built from its factory with closures over the services created here; its
 * tools are registered after it starts and unregistered before it stops.
 * `running` tells the router and the local view whether to use the mesh.
 */
export async function createSubsystems(
  node: MeshNode
): Promise<{ subsystems: NodeSubsystem[]; mesh: MeshService; meshRunning: () => boolean }> {
  const config = node.config
  let queue: TaskQueueService | undefined
  const mesh = meshService({
    meshName: config.mesh.name,
    protocol: config.protocol,
    catalog: config.catalog,
    dhtProvide: config.catalog.dhtProvide && config.discovery.dht.enabled,
    workerInfo: () => queue?.workerInfo(),
    describeConnections: (peer) => describeConnections(node.libp2p, peer) as unknown as Array<Record<string, unknown>>,
    inboundCall: (call) => queue?.inboundCall(call),
    onCatalogChange: () => {
      node.localView.invalidate()
      node.front.notifyToolListChanged()
    }
  })({
    libp2p: node.libp2p,
    registry: node.registry,
    serve: async (transport, view, caller, onClose) => node.front.connect(transport, view, caller, onClose),
    isExported: (name) => node.isExported(name),
    trust: config.trust,
    runLocal: async (name, args, ctx) => node.router.call(name, args, ctx, { override: 'local' })
  })
  queue = new TaskQueueService(node, mesh.port())

  let running = false
  let tools: Tool[] = []
  const meshSubsystem: NodeSubsystem = {
    name: mesh.name,
    start: async () => {
      await mesh.start()
      tools = mesh.tools()
      node.registry.registerAll(tools)
      running = true
    },
    stop: async () => {
      running = false
      for (const tool of tools) node.registry.unregister(tool.name)
      tools = []
      await mesh.stop()
    },
    status: () => mesh.status(),
    health: async () => mesh.health()
  }
  // Discovery last: it dials peers once every protocol is registered.
  return {
    subsystems: [meshSubsystem, queue, createWorkflowService(node), createDiscovery(node)],
    mesh,
    meshRunning: () => running
  }
}
