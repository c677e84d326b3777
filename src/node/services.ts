import type { Libp2p } from 'libp2p'
import type { LoadedConfig } from '../config/load.js'
import { describeConnections, discovery } from '../discovery/index.js'
import type { MeshServices } from '../interface/libp2p.js'
import type { McpFront } from '../mcp/front.js'
import type { LocalToolView } from '../mcp/local-view.js'
import { type MeshService, meshService } from '../mesh/index.js'
import { type TaskQueueService, type TracedRun, taskQueue } from '../queue/index.js'
import type { RuntimeRouter } from '../router/router.js'
import type { ToolRegistry } from '../tools/registry.js'
import type { JsonObject } from '../tools/types.js'
import type { TrustGate } from '../trust/index.js'
import { type WorkflowService, workflows } from '../workflow/index.js'
import type { Datastore } from 'interface-datastore'
import { ManagedService } from './managed.js'

/** What the node has built before its services: the parts they are given. */
export interface ServiceContext {
  config: LoadedConfig['config']
  home: string
  libp2p: Libp2p<MeshServices>
  datastore: Datastore
  registry: ToolRegistry
  router: RuntimeRouter
  localView: LocalToolView
  front: McpFront
  gate: TrustGate
  /** Runs a claimed task in its owner's trace (the node's tracing and call metrics). */
  traced?: TracedRun
}

export interface NodeServices {
  /** In start order; stopped in reverse. */
  all: ManagedService[]
  mesh: MeshService
  queue: TaskQueueService
  workflows: WorkflowService
  /** Whether the mesh is running (the router and the local view use it only then). */
  meshRunning: () => boolean
}

/**
 * The composition root of the node's services: each is created from its
 * factory with exactly the components it declares, and cross-service hooks
 * are closures over the services created here (no service looks another up,
 * none sets a field on another). Order: mesh, queue, workflows, discovery
 * (last: it dials peers once every protocol is registered).
 */
export function createServices(ctx: ServiceContext): NodeServices {
  const { config, libp2p, registry, router, localView, front, gate } = ctx
  // Declared before the mesh: the mesh's hooks close over it.
  let queue: TaskQueueService | undefined

  const mesh = meshService({
    meshName: config.mesh.name,
    protocol: config.protocol,
    catalog: config.catalog,
    dhtProvide: config.catalog.dhtProvide && config.discovery.dht.enabled,
    workerInfo: () => queue?.workerInfo(),
    describeConnections: (peer) => describeConnections(libp2p, peer) as unknown as Array<Record<string, unknown>>,
    inboundCall: (call) => queue?.inboundCall(call),
    onCatalogChange: () => {
      localView.invalidate()
      front.notifyToolListChanged()
    }
  })({
    libp2p,
    registry,
    // Both eras on /mcp+p2p: the legacy initialize of deployed MCP++ peers, and 2026-07-28.
    serve: async (transport, view, caller, onClose) => front.serveStream(transport, view, caller, onClose),
    gate,
    runLocal: async (name, args, context, controller) =>
      router.call(name, args, context, { override: 'local', controller })
  })
  const managedMesh = new ManagedService(mesh, registry)

  queue = taskQueue({ config: config.queue, meshName: config.mesh.name })({
    peerId: libp2p.peerId,
    datastore: ctx.datastore,
    pubsub: libp2p.services.pubsub,
    workerHost: { registry, router, isExported: (name) => gate.isExported(name) },
    peerMethods: { add: (method) => front.addPeerMethod(method), remove: (name) => front.removePeerMethod(name) },
    mesh: mesh.port(),
    gate,
    traced: ctx.traced
  })

  const workflowService = workflows({ limits: config.workflow })({
    datastore: ctx.datastore,
    queue,
    owner: libp2p.peerId.toString(),
    describeTool: (name) => {
      const tool = localView.describe(name)
      if (tool == null) return undefined
      return { inputSchema: tool.inputSchema as JsonObject, outputSchema: tool.outputSchema as JsonObject | undefined }
    }
  })

  const discoveryService = discovery({ config, home: ctx.home })({ libp2p, gate })

  return {
    all: [
      managedMesh,
      new ManagedService(queue, registry),
      new ManagedService(workflowService, registry),
      new ManagedService(discoveryService, registry)
    ],
    mesh,
    queue,
    workflows: workflowService,
    meshRunning: () => managedMesh.running
  }
}
