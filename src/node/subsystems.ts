import { ProtocolError } from '@modelcontextprotocol/server'
import { createDiscovery } from '../discovery/index.js'
import type { NodeSubsystem } from '../interface/subsystem.js'
import { ERROR_CODE_BUSY } from '../mesh/constants.js'
import { MeshService } from '../mesh/service.js'
import { type MeshPort, type TaskQueueService, taskQueue } from '../queue/index.js'
import { createWorkflowService } from '../workflow/service.js'
import type { MeshNode } from './mesh-node.js'

/** The mesh as the queue sees it (read once the mesh is started). */
function meshPort(mesh: MeshService): MeshPort {
  return {
    peers: () => mesh.catalog.peers(),
    onCatalogChange: (listener) => {
      const onChange = (): void => listener()
      const catalog = mesh.catalog
      catalog.addEventListener('change', onChange)
      return () => catalog.removeEventListener('change', onChange)
    },
    client: async (peer, options) => mesh.pool.get(peer, options),
    drop: async (peer) => mesh.pool.drop(peer)
  }
}

/**
 * Wires the queue into the node while it runs: its tools are registered after
 * it started and unregistered before it stops, and the mesh's hooks (worker
 * info for adverts, pushed tasks) call it only in between.
 */
function queueWiring(node: MeshNode, mesh: MeshService, queue: TaskQueueService): NodeSubsystem {
  return {
    name: 'queue-wiring',
    start: async () => {
      node.registry.registerAll(queue.tools())
      mesh.workerInfo = () => queue.workerInfo()
      mesh.taskExecutor = async (peer, tool, args, _task, ctx) =>
        queue.inboundCall({ peer, tool, args, ctx }) ??
        Promise.reject(new ProtocolError(ERROR_CODE_BUSY, 'busy: the task queue is not running'))
    },
    stop: async () => {
      mesh.taskExecutor = undefined
      mesh.workerInfo = undefined
      for (const tool of queue.tools()) node.registry.unregister(tool.name)
    }
  }
}

/**
 * The node's subsystems, in start order (stopped in reverse). Each layer adds
 * one line here; subsystems register their own MCP tools on start.
 */
export async function createSubsystems(node: MeshNode): Promise<NodeSubsystem[]> {
  const mesh = new MeshService(node)
  const queue = taskQueue({ config: node.config.queue, meshName: node.config.mesh.name })({
    peerId: node.libp2p.peerId,
    datastore: node.datastore,
    pubsub: node.libp2p.services.pubsub,
    workerHost: { registry: node.registry, router: node.router, isExported: (name) => node.isExported(name) },
    peerMethods: {
      add: (method) => node.front.addPeerMethod(method),
      remove: (name) => node.front.removePeerMethod(name)
    },
    mesh: meshPort(mesh)
  })
  // Discovery last: it dials peers once every protocol is registered.
  return [mesh, queue, queueWiring(node, mesh, queue), createWorkflowService(node), createDiscovery(node)]
}
