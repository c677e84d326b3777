import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/server'
import type { MeshNode } from '../node/mesh-node.js'
import type { NodeSubsystem } from '../interface/subsystem.js'
import type { JsonObject, Tool, ToolContext } from '../tools/types.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { type CatalogAdvert, schemaHash } from './advert.js'
import { Catalog } from './catalog.js'
import {
  DEFAULT_ADVERT_INTERVAL_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_INBOUND_CONCURRENCY_PER_PEER,
  DEFAULT_MAX_INBOUND_QUEUE_PER_PEER,
  DEFAULT_MAX_REQUESTS_PER_SECOND_PER_PEER,
  DEFAULT_PEER_TTL_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  LATENCY_PROBE_INTERVAL_MS,
  MAX_INBOUND_STREAMS,
  MAX_OUTBOUND_STREAMS,
  MCP_P2P_PROTOCOL
} from './constants.js'
import { PeerDispatcher } from './dispatcher.js'
import { InvalidPeerIdError } from './errors.js'
import { P2PStreamTransport, type ProtocolViolation } from './p2p-transport.js'
import { PeerPool } from './peer-pool.js'
import { InboundLimiter, type InboundTaskExecutor, PeerToolView } from './peer-view.js'
import { MeshSurface, peerAlias } from './surface.js'
import { createMeshCallTool } from './tools/mesh-call.js'
import { createPeerListTool } from './tools/peer-list.js'
import { createPeerToolsTool } from './tools/peer-tools.js'

const log = meshLogger('mesh')

export interface MeshPeerSummary {
  peerId: string
  alias: string
  connected: boolean
  addresses: string[]
  inCatalog: boolean
  source?: 'gossip' | 'dht' | 'direct'
  tools: string[]
  load?: { inFlight: number; queued: number; maxConcurrency: number }
  latencyMs?: number
  lastAdvertAgoMs?: number
  connections?: Array<Record<string, unknown>>
}

/** Per-connection details other layers may add to peer_list (e.g. relayed or direct). */
export type ConnectionDescriber = (peer: PeerId) => Array<Record<string, unknown>>

/**
 * The mesh layer: serves `/mcp+p2p/1.0.0` (peers see this node's exported
 * tools through a per-peer authorization view), keeps the pooled streams to
 * peers, runs the tool catalog, shows the mesh's tools to the local client,
 * and dispatches mesh-routed calls.
 */
export class MeshService implements NodeSubsystem {
  readonly name = 'mesh'
  readonly #node: MeshNode
  readonly limits: {
    protocol: string
    maxFrameBytes: number
    requestTimeoutMs: number
    idleTimeoutMs: number
    maxInboundConcurrencyPerPeer: number
    maxInboundQueuePerPeer: number
    maxRequestsPerSecondPerPeer: number
    maxInboundStreamsPerConnection: number
  }
  readonly violations: Record<ProtocolViolation, number> = {
    'oversized-frame': 0,
    'malformed-frame': 0,
    'invalid-json': 0,
    'invalid-jsonrpc': 0
  }
  readonly limiter: InboundLimiter
  #pool?: PeerPool
  #catalog?: Catalog
  #surface?: MeshSurface
  #dispatcher?: PeerDispatcher
  #tools: Tool[] = []
  #probeTimer?: NodeJS.Timeout
  #inboundStreams = 0
  #started = false
  describeConnections?: ConnectionDescriber
  /** This node's worker state for catalog adverts; set by the queue layer. */
  workerInfo?: () => CatalogAdvert['worker']
  /** Runs pushed tasks as a worker; set by the queue layer. */
  taskExecutor?: InboundTaskExecutor

  constructor(node: MeshNode) {
    this.#node = node
    const protocol = node.config.protocol
    this.limits = {
      protocol: MCP_P2P_PROTOCOL,
      maxFrameBytes: protocol.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      requestTimeoutMs: protocol.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      idleTimeoutMs: protocol.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      maxInboundConcurrencyPerPeer: protocol.maxInboundConcurrencyPerPeer ?? DEFAULT_MAX_INBOUND_CONCURRENCY_PER_PEER,
      maxInboundQueuePerPeer: DEFAULT_MAX_INBOUND_QUEUE_PER_PEER,
      maxRequestsPerSecondPerPeer: protocol.maxRequestsPerSecondPerPeer ?? DEFAULT_MAX_REQUESTS_PER_SECOND_PER_PEER,
      maxInboundStreamsPerConnection: MAX_INBOUND_STREAMS
    }
    this.limiter = new InboundLimiter({
      maxConcurrencyPerPeer: this.limits.maxInboundConcurrencyPerPeer,
      maxQueuePerPeer: this.limits.maxInboundQueuePerPeer,
      maxRequestsPerSecondPerPeer: this.limits.maxRequestsPerSecondPerPeer,
      requestTimeoutMs: this.limits.requestTimeoutMs
    })
  }

  get catalog(): Catalog {
    if (this.#catalog == null) throw new Error('mesh is not started')
    return this.#catalog
  }

  get pool(): PeerPool {
    if (this.#pool == null) throw new Error('mesh is not started')
    return this.#pool
  }

  get dispatcher(): PeerDispatcher {
    if (this.#dispatcher == null) throw new Error('mesh is not started')
    return this.#dispatcher
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    const node = this.#node
    const libp2p = node.libp2p
    const onViolation = (kind: ProtocolViolation): void => {
      this.violations[kind]++
    }
    this.#pool = new PeerPool(libp2p, {
      maxFrameBytes: this.limits.maxFrameBytes,
      idleTimeoutMs: this.limits.idleTimeoutMs,
      onViolation
    })
    this.#catalog = new Catalog(libp2p, node.registry, this.#pool, {
      meshName: node.config.mesh.name,
      advertIntervalMs: node.config.catalog.advertIntervalMs ?? DEFAULT_ADVERT_INTERVAL_MS,
      peerTtlMs: node.config.catalog.peerTtlMs ?? DEFAULT_PEER_TTL_MS,
      dhtProvide: node.config.catalog.dhtProvide && node.config.discovery.dht.enabled,
      isExported: (name) => node.isExported(name),
      capacity: () => ({ maxConcurrency: this.limits.maxInboundConcurrencyPerPeer }),
      load: () => ({ inFlight: this.limiter.counters.inFlight, queued: this.limiter.counters.queued }),
      worker: () => this.workerInfo?.()
    })
    this.#surface = new MeshSurface(this.#catalog, (name) => {
      const tool = node.registry.get(name)
      return tool == null ? undefined : schemaHash(tool.inputSchema, tool.outputSchema)
    })
    node.registry.addEventListener('change', () => this.#surface?.invalidate())
    this.#dispatcher = new PeerDispatcher(this.#catalog, this.#surface, this.#pool)
    this.#catalog.addEventListener('change', (event) => {
      node.localView.invalidate()
      node.front.notifyToolListChanged()
      if (event.detail.reason === 'advert' || event.detail.reason === 'descriptors')
        this.#sampleLatency(event.detail.peer)
    })

    await libp2p.handle(MCP_P2P_PROTOCOL, (stream, connection) => this.#accept(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS
    })
    node.router.setDispatcher(this.#dispatcher)
    node.localView.setMeshSource(this.#surface)
    this.#tools = [createPeerListTool(() => this.peerSummaries()), createPeerToolsTool(this), createMeshCallTool(this)]
    node.registry.registerAll(this.#tools)
    await this.#catalog.start()
    this.#probeTimer = setInterval(() => {
      for (const peer of this.catalog.peers()) this.#sampleLatency(peer.peerId)
    }, LATENCY_PROBE_INTERVAL_MS)
    this.#probeTimer.unref()
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    clearInterval(this.#probeTimer)
    const node = this.#node
    node.router.setDispatcher(undefined)
    node.localView.setMeshSource(undefined)
    for (const tool of this.#tools) node.registry.unregister(tool.name)
    this.#tools = []
    await this.#catalog?.stop()
    await node.libp2p.unhandle(MCP_P2P_PROTOCOL).catch(() => {})
    await this.#pool?.close()
  }

  status(): unknown {
    return {
      protocol: this.limits,
      inbound: { streams: this.#inboundStreams, ...this.limiter.counters, violations: { ...this.violations } },
      outbound: { pooledStreams: this.#pool?.size ?? 0, streamsOpened: this.#pool?.opened ?? 0 },
      dispatch: this.#dispatcher?.counters,
      catalog: this.#catalog?.stats()
    }
  }

  async health(): Promise<{ ok: boolean; detail: string }> {
    const stats = this.catalog.stats()
    return {
      ok: this.#started,
      detail: `${stats.peers} catalog peers offering ${stats.tools} tools; ${this.#pool?.size ?? 0} pooled streams`
    }
  }

  peerSummaries(): MeshPeerSummary[] {
    const libp2p = this.#node.libp2p
    const byPeer = new Map<string, MeshPeerSummary>()
    const summary = (peerId: string): MeshPeerSummary => {
      let entry = byPeer.get(peerId)
      if (entry == null) {
        entry = { peerId, alias: peerAlias(peerId), connected: false, addresses: [], inCatalog: false, tools: [] }
        byPeer.set(peerId, entry)
      }
      return entry
    }
    for (const connection of libp2p.getConnections()) {
      const entry = summary(connection.remotePeer.toString())
      entry.connected = true
      entry.addresses.push(connection.remoteAddr.toString())
    }
    const now = Date.now()
    for (const peer of this.#catalog?.peers() ?? []) {
      const entry = summary(peer.peerId)
      entry.inCatalog = true
      entry.source = peer.source
      entry.tools = [...peer.tools.keys()].sort()
      entry.load = { ...peer.load, maxConcurrency: peer.capacity.maxConcurrency }
      if (peer.latencyMs != null) entry.latencyMs = Math.round(peer.latencyMs * 1000) / 1000
      entry.lastAdvertAgoMs = now - peer.lastSeen
    }
    if (this.describeConnections != null) {
      for (const entry of byPeer.values()) {
        if (entry.connected) entry.connections = this.describeConnections(peerIdFromString(entry.peerId))
      }
    }
    return [...byPeer.values()]
  }

  async peerTools(peer: string, signal: AbortSignal): Promise<McpTool[]> {
    const client = await this.#pool!.get(parsePeerId(peer), { signal })
    const listed = await client.listTools(undefined, { signal })
    return listed.tools
  }

  async callPeer(
    peer: string,
    tool: string,
    args: JsonObject,
    ctx: ToolContext,
    timeoutMs: number
  ): Promise<CallToolResult> {
    parsePeerId(peer)
    return this.dispatcher.callPeer(peer, tool, args, ctx, timeoutMs)
  }

  #accept(stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer.toString()
    stream.inactivityTimeout = this.limits.idleTimeoutMs
    const transport = new P2PStreamTransport(stream, {
      maxFrameBytes: this.limits.maxFrameBytes,
      onViolation: (kind, detail) => {
        this.violations[kind]++
        log('peer %s: %s (%s)', peer, kind, detail)
      }
    })
    this.#inboundStreams++
    const view = new PeerToolView(peer, this.#node, this.limiter, () => this.taskExecutor)
    this.#node.front
      .connect(transport, view, { kind: 'peer', peerId: peer }, () => {
        this.#inboundStreams--
      })
      .catch((err: unknown) => {
        this.#inboundStreams--
        log.error('inbound /mcp+p2p session from %s failed: %s', peer, errorMessage(err))
        stream.abort(err as Error)
      })
  }

  /**
   * Folds in the round trip libp2p's connection monitor measured on its last
   * ping of the peer's connection. No ping of our own: a second pinger per
   * connection only adds streams (and refused streams abort connections).
   */
  #sampleLatency(peer: string): void {
    const id = parsePeerIdOrUndefined(peer)
    if (id == null) return
    const rtts = this.#node.libp2p
      .getConnections(id)
      .map((connection) => connection.rtt)
      .filter((rtt): rtt is number => rtt != null && Number.isFinite(rtt))
    if (rtts.length > 0) this.#catalog?.recordLatency(peer, Math.min(...rtts))
  }
}

function parsePeerId(peer: string): PeerId {
  try {
    return peerIdFromString(peer)
  } catch (err) {
    throw new InvalidPeerIdError(peer, errorMessage(err))
  }
}

function parsePeerIdOrUndefined(peer: string): PeerId | undefined {
  try {
    return peerIdFromString(peer)
  } catch {
    return undefined
  }
}
