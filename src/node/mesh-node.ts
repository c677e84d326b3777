import { join } from 'node:path'
import type { PeerId } from '@libp2p/interface'
import { LevelDatastore } from 'datastore-level'
import { createLibp2p, type Libp2p } from 'libp2p'
import { API_SOCKET, DATASTORE_DIR } from '../config/defaults.js'
import type { LoadedConfig } from '../config/load.js'
import { loadPrivateKey } from '../identity/identity.js'
import { readSwarmKey } from '../discovery/swarm-key.js'
import { createFront, type FrontInstrumentation, type McpFront } from '../mcp/front.js'
import { DASHBOARD_PATH } from '../dashboard/constants.js'
import type { HttpEndpoint, HttpRoute } from '../mcp/http.js'
import { METRICS_PATH } from '../metrics/index.js'
import { LocalToolView } from '../mcp/local-view.js'
import { combineContent, type ContentPeers, PeerContent } from '../mcp/peer-content.js'
import { RuntimeRouter } from '../router/router.js'
import { demoTools, nodeTools } from '../tools/builtin/index.js'
import type { MeshHealth, MeshStatus, NodeInfo } from '../tools/builtin/node-info.js'
import { loadToolModule } from '../tools/modules.js'
import { ToolRegistry } from '../tools/registry.js'
import { SharedServerContent } from '../tools/server-content.js'
import { parsePeerId } from '../util/peer-id.js'
import { ServerProxy } from '../tools/server-proxy.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger, notice } from '../util/logger.js'
import { bearerToken, loadHttpToken, tokenMatches } from '../mcp/http-token.js'
import { ApiServer } from './api-server.js'
import { boundFallbackPorts, fallbackNotice, type ListenFallback, resolveListenPorts } from './listen-ports.js'
import { AGENT_NAME } from '../interface/version.js'
import type { MeshServices } from '../interface/libp2p.js'
import { Libp2pDatastore } from './libp2p-datastore.js'
import { libp2pDefaults } from './libp2p-defaults.js'
import { nodeHealth } from './health.js'
import { NodeObservability } from './observability.js'
import type { NodeSubsystem } from '../interface/subsystem.js'
import { createServices, type NodeServices } from './services.js'
import { type TrustGate, trustGate } from '../trust/index.js'
import { VERSION } from '../interface/version.js'

const log = meshLogger('node')

export interface MeshNodeInit {
  loaded: LoadedConfig
  /** Serve the local API socket (off only in unit-level tests). */
  api?: boolean
  /** A front created before the node (so stdio can answer initialize while the node starts). */
  front?: McpFront
  /** Called whenever the number of local API sessions changes. */
  onApiSessionsChanged?: (count: number) => void
  /** How the process runs the node, for mesh_status (default: foreground, as an embedded node). */
  lifecycle?: { mode: 'foreground' | 'daemon' | 'detached'; idleExitMs?: number; logFile?: string }
}

/**
 * One mcp-mesh peer: the datastore, the libp2p host, the tool registry and
 * router, the MCP front with its endpoints, proxied MCP servers, and the
 * subsystems later layers add. `start` and `stop` are safe to call twice.
 */
export class MeshNode implements NodeInfo {
  readonly config: LoadedConfig['config']
  readonly home: string
  readonly registry = new ToolRegistry()
  readonly router: RuntimeRouter
  readonly front: McpFront
  readonly localView: LocalToolView
  /** Answers "may peer P make this node do X" for every inbound path. */
  readonly gate: TrustGate
  /** Metrics (`/metrics`) and tracing (W3C trace context, optional OTLP export). */
  readonly observability: NodeObservability
  readonly #init: MeshNodeInit
  readonly #servers: ServerProxy[] = []
  readonly #subsystems: NodeSubsystem[] = []
  #services?: NodeServices
  #datastore?: LevelDatastore
  /** libp2p's own datastore: in memory, its peer store written back to #datastore. */
  #libp2pDatastore?: Libp2pDatastore
  #libp2p?: Libp2p<MeshServices>
  #api?: ApiServer
  #http?: HttpEndpoint
  #startedAt = 0
  #listenFallbacks: ListenFallback[] = []
  #state: 'stopped' | 'starting' | 'running' | 'stopping' = 'stopped'
  #stopping?: Promise<void>
  #starting?: Promise<void>
  #token?: Promise<string>
  readonly #instrumentation: FrontInstrumentation

  constructor(init: MeshNodeInit) {
    this.#init = init
    this.config = init.loaded.config
    this.home = init.loaded.home
    this.observability = new NodeObservability(
      this.config,
      {
        node: () => this.#summary(),
        router: () => this.router.metrics(),
        mesh: () => (this.#services?.meshRunning() === true ? this.#services.mesh.status() : undefined),
        queue: () => this.#services?.queue.stats(),
        worker: () => {
          const worker = this.#services?.queue.worker.status()
          if (worker == null) return undefined
          return {
            running: worker.running,
            slots: worker.registration?.maxConcurrency ?? 0,
            done: worker.done,
            failed: worker.failed
          }
        },
        workflows: () => this.#workflowCounts(),
        localTools: () => {
          const stats = this.registry.stats()
          return { total: stats.total, exported: stats.exported }
        }
      },
      // The metrics port takes the node's bearer token, like the HTTP endpoint (read once, not per scrape).
      async (authorization) => tokenMatches(await this.#metricsToken(), bearerToken(authorization))
    )
    this.router = new RuntimeRouter(this.registry, {
      dispatcher: () => (this.#services?.meshRunning() === true ? this.#services.mesh.dispatcher : undefined),
      observe: (call) => this.observability.routed(call)
    })
    this.localView = new LocalToolView(this.registry, this.router, {
      mesh: () => (this.#services?.meshRunning() === true ? this.#services.mesh.surface : undefined),
      content: combineContent(
        new SharedServerContent(() => this.#servers),
        new PeerContent(
          () => this.#contentPeers(),
          (uri) => this.front.resourceUpdated(uri)
        )
      )
    })
    this.front = init.front ?? createFront()
    this.#instrumentation = this.observability.frontInstrumentation()
    this.front.instrument(this.#instrumentation)
    this.gate = trustGate({ export: this.config.export, trust: this.config.trust })({ tools: this.registry })
    this.registry.addEventListener('change', () => this.front.notifyToolListChanged())
    // Servers with export: true share their prompts and resources with admitted peers too.
    const exported = new SharedServerContent(() => this.#servers.filter((server) => server.exported))
    // Each peer request is asked of the gate (path `content`: refused and counted for a peer
    // trust.allowPeers leaves out) and counted in the peer's inbound limits.
    this.front.sharePeerContent((peer) =>
      this.#services?.meshRunning() === true ? this.#services.mesh.peerContent(peer, exported) : undefined
    )
  }

  /** Peers whose shared prompts and resources the local client sees (those this node may send to). */
  #contentPeers(): ContentPeers | undefined {
    if (this.#services?.meshRunning() !== true) return undefined
    const port = this.#services.mesh.port()
    return {
      peers: () =>
        port
          .peers()
          .map((peer) => peer.peerId)
          .filter((peer) => this.gate.maySendTo(peer)),
      client: async (peer, options) => port.client(parsePeerId(peer), options)
    }
  }

  /** The HTTP bearer token (the same file the HTTP endpoint reads at start); a failed read is retried. */
  async #metricsToken(): Promise<string> {
    this.#token ??= loadHttpToken(this.home).then(({ token }) => token)
    return this.#token.catch((err: unknown) => {
      this.#token = undefined
      throw err
    })
  }

  get libp2p(): Libp2p<MeshServices> {
    if (this.#libp2p == null) throw new Error('node is not started')
    return this.#libp2p
  }

  get datastore(): LevelDatastore {
    if (this.#datastore == null) throw new Error('node is not started')
    return this.#datastore
  }

  get peerId(): PeerId {
    return this.libp2p.peerId
  }

  get apiPath(): string {
    return join(this.home, API_SOCKET)
  }

  get httpUrl(): string | undefined {
    return this.#http?.url
  }

  get apiSessionCount(): number {
    return this.#api?.sessionCount ?? 0
  }

  get running(): boolean {
    return this.#state === 'running'
  }

  /** The node's services, typed (for the CLI, benches and tests); throws before start. */
  get services(): NodeServices {
    if (this.#services == null) throw new Error('node is not started')
    return this.#services
  }

  async start(): Promise<void> {
    if (this.#state !== 'stopped') return
    this.#state = 'starting'
    const { promise, resolve } = Promise.withResolvers<void>()
    this.#starting = promise
    try {
      await this.#start()
    } finally {
      this.#starting = undefined
      resolve()
    }
  }

  async #start(): Promise<void> {
    this.#startedAt = Date.now()
    try {
      const privateKey = loadPrivateKey(this.config.identity!)
      this.#datastore = new LevelDatastore(join(this.home, DATASTORE_DIR))
      await this.#datastore.open()
      this.#libp2pDatastore = new Libp2pDatastore(this.#datastore)
      await this.#libp2pDatastore.open()
      // A fixed listen port another process holds falls back to a random one.
      const ports = await resolveListenPorts(this.config.addresses.listen)
      await this.observability.load()
      this.#libp2p = await createLibp2p(
        await libp2pDefaults({
          config: { ...this.config, addresses: { ...this.config.addresses, listen: ports.listen } },
          privateKey,
          datastore: this.#libp2pDatastore,
          version: VERSION,
          swarmKey: await readSwarmKey(this.home),
          metrics: this.observability.metrics.libp2p
        })
      )
      const bound = this.#libp2p
        .getMultiaddrs()
        .map((ma) => ma.toString())
        .filter((a) => !a.includes('/p2p-circuit'))
      this.#listenFallbacks = boundFallbackPorts(ports.fallbacks, ports.listen, bound)
      for (const fallback of this.#listenFallbacks) notice(fallbackNotice(fallback))
      this.registry.registerAll([...demoTools(), ...nodeTools(this)])
      for (const path of this.config.tools) this.registry.registerAll(await loadToolModule(path))
      this.#services = createServices({
        config: this.config,
        home: this.home,
        libp2p: this.#libp2p,
        datastore: this.#datastore,
        registry: this.registry,
        router: this.router,
        localView: this.localView,
        front: this.front,
        gate: this.gate,
        // A claimed task is served like a pushed one: a server span in the owner's trace, timed.
        traced: async (call, run) =>
          this.#instrumentation.toolCall(
            { name: call.tool, caller: { kind: 'peer', peerId: call.owner }, meta: call.trace },
            run
          )
      })
      this.#subsystems.push(...this.#services.all)
      const queue = this.#services.queue
      queue.addEventListener('task', (event) => this.observability.taskEvent(event.detail))
      for (const subsystem of this.#subsystems) await subsystem.start()
      await this.observability.start()
      for (const [name, spec] of Object.entries(this.config.servers)) {
        const proxy = new ServerProxy(name, spec, this.registry, {
          onResourceUpdated: (uri) => this.front.resourceUpdated(uri)
        })
        this.#servers.push(proxy)
      }
      await Promise.all(this.#servers.map(async (proxy) => proxy.start()))
      if (this.#init.api !== false) {
        this.#api = new ApiServer(this.apiPath, this.front, this.localView, (count) =>
          this.#init.onApiSessionsChanged?.(count)
        )
        await this.#api.start()
      }
      if (this.config.mcp.httpPort != null) {
        // The HTTP endpoint and the dashboard are loaded only for a node that serves them.
        const { HttpEndpoint } = await import('../mcp/http.js')
        this.#http = new HttpEndpoint(this.front, this.localView, {
          home: this.home,
          port: this.config.mcp.httpPort,
          maxSessions: this.config.mcp.httpMaxSessions,
          sessionIdleMs: this.config.mcp.httpSessionIdleMs,
          routes: await this.#httpRoutes(),
          auth: this.config.mcp.httpAuth
        })
        await this.#http.start()
      }
      this.#state = 'running'
      log('node %s running', this.#libp2p.peerId.toString())
    } catch (err) {
      this.#state = 'running'
      await this.#teardown().catch(() => {})
      throw err
    }
  }

  async stop(): Promise<void> {
    // A stop during start (SIGTERM right after launch) waits for the start to
    // settle, so nothing is torn down under a subsystem still opening.
    if (this.#starting != null) await this.#starting
    return this.#teardown()
  }

  async #teardown(): Promise<void> {
    if (this.#state === 'stopped') return
    if (this.#stopping != null) return this.#stopping
    this.#state = 'stopping'
    this.#stopping = (async () => {
      const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
        try {
          await fn()
        } catch (err) {
          log.error('stopping %s failed: %s', what, errorMessage(err))
        }
      }
      await step('http', async () => this.#http?.stop())
      await step('api', async () => this.#api?.stop())
      await step('mcp', async () => this.front.close())
      for (const subsystem of [...this.#subsystems].reverse()) await step(subsystem.name, async () => subsystem.stop())
      await step('observability', async () => this.observability.stop())
      await step('servers', async () => {
        await Promise.all(this.#servers.map(async (proxy) => proxy.stop()))
      })
      await step('libp2p', async () => this.#libp2p?.stop())
      await step('peer store', async () => this.#libp2pDatastore?.close())
      // Closing LevelDB flushes its write-ahead log to disk.
      await step('datastore', async () => this.#datastore?.close())
      this.#subsystems.length = 0
      this.#services = undefined
      this.#servers.length = 0
      this.#state = 'stopped'
    })()
    try {
      await this.#stopping
    } finally {
      this.#stopping = undefined
    }
  }

  status(): MeshStatus {
    const libp2p = this.libp2p
    const connectedPeers = new Map<string, string[]>()
    for (const connection of libp2p.getConnections()) {
      const id = connection.remotePeer.toString()
      const list = connectedPeers.get(id) ?? []
      list.push(connection.remoteAddr.toString())
      connectedPeers.set(id, list)
    }
    const subsystems: Record<string, unknown> = {}
    for (const subsystem of this.#subsystems) {
      if (subsystem.status != null) subsystems[subsystem.name] = subsystem.status()
    }
    return {
      peerId: libp2p.peerId.toString(),
      agentVersion: `${AGENT_NAME}/${VERSION}`,
      version: VERSION,
      meshName: this.config.mesh.name,
      uptimeMs: Date.now() - this.#startedAt,
      addresses: libp2p.getMultiaddrs().map((ma) => ma.toString()),
      connectedPeers: [...connectedPeers].map(([peerId, addresses]) => ({ peerId, addresses })),
      tools: this.registry.stats(),
      router: this.router.metrics(),
      servers: this.#servers.map((proxy) => proxy.status()),
      sessions: this.front.sessionCount,
      trust: { policy: this.gate.policy(), ...this.gate.stats() },
      process: {
        pid: process.pid,
        ...(this.#init.lifecycle ?? { mode: 'foreground' }),
        listenFallbacks: this.#listenFallbacks
      },
      endpoints: this.#endpoints(),
      subsystems
    }
  }

  async health(signal: AbortSignal): Promise<MeshHealth> {
    return nodeHealth(
      {
        libp2p: this.libp2p,
        datastore: this.datastore,
        registry: this.registry,
        servers: this.#servers,
        subsystems: this.#subsystems,
        mcp: `${this.front.sessionCount} sessions${this.httpUrl != null ? `, http ${this.httpUrl}` : ''}`,
        observability: this.observability.detail(this.#http?.origin)
      },
      signal
    )
  }

  /** `/metrics` and, unless `dashboard.enabled` is false, the dashboard: served by the HTTP endpoint. */
  async #httpRoutes(): Promise<HttpRoute[]> {
    const metrics = this.observability.metrics
    const routes: HttpRoute[] = [{ path: METRICS_PATH, handle: async () => metrics.render() }]
    if (!this.config.dashboard.enabled) return routes
    const { dashboardRoutes } = await import('../dashboard/index.js')
    return [
      ...routes,
      ...dashboardRoutes({
        refreshMs: this.config.dashboard.refreshMs,
        node: () => ({ ...this.#summary(), addresses: this.libp2p.getMultiaddrs().map((ma) => ma.toString()) }),
        health: async (signal) => this.health(signal),
        peers: () => (this.#services?.meshRunning() === true ? this.#services.mesh.peerSummaries() : undefined),
        localTools: () =>
          this.registry.list().map((tool) => ({ name: tool.name, exported: this.isExported(tool.name) })),
        queue: () => this.#services?.queue,
        workflows: () => this.#services?.workflows.engine,
        latency: async () => metrics.calls.toolLatency()
      })
    ]
  }

  /** The HTTP URLs of MCP, /metrics and the dashboard, for mesh_status and doctor. */
  #endpoints(): MeshStatus['endpoints'] {
    const origin = this.#http?.origin
    return {
      mcp: this.httpUrl,
      metrics: this.observability.metricsUrls(origin),
      dashboard: origin != null && this.config.dashboard.enabled ? `${origin}${DASHBOARD_PATH}` : undefined
    }
  }

  /** Workflows this node owns, by state (for the metrics collector). */
  #workflowCounts(): { active: number; byState: Record<string, number> } | undefined {
    const service = this.#services?.workflows
    if (service == null) return undefined
    return { active: service.status().active, byState: service.engine.countsByState() }
  }

  /** The node in one line of figures, for the metrics collector and the dashboard. */
  #summary(): { peerId: string; version: string; meshName: string; uptimeMs: number; sessions: number } {
    return {
      peerId: this.config.identity?.peerId ?? '',
      version: VERSION,
      meshName: this.config.mesh.name,
      uptimeMs: this.#startedAt === 0 ? 0 : Date.now() - this.#startedAt,
      sessions: this.front.sessionCount
    }
  }

  /** Whether peers may see and call `tool`: its own `meta.export`, or config `export.tools`. */
  isExported(name: string): boolean {
    return this.gate.isExported(name)
  }
}
