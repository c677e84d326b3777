/**
 * The mesh: serves `/mcp+p2p/1.0.0` (peers see this node's exported tools
 * through a per-peer authorization view), keeps one pooled stream per peer,
 * runs the tool catalog (signed gossip adverts, descriptors, DHT provider
 * records), shows the mesh's tools to the local client and dispatches
 * mesh-routed calls. It knows nothing about tasks: services built on it get
 * a {@link MeshPort}, and take calls over with an {@link InboundCallHook}.
 *
 * @example
 * ```ts
 * // src/node/: the composition root
 * const mesh = meshService({
 *   meshName: config.mesh.name,
 *   protocol: config.protocol,
 *   catalog: config.catalog,
 *   dhtProvide: config.catalog.dhtProvide && config.discovery.dht.enabled,
 *   workerInfo: () => queue.workerInfo(),
 *   inboundCall: (call) => queue.inboundCall(call),
 *   onCatalogChange: () => { localView.invalidate(); front.notifyToolListChanged() }
 * })({
 *   libp2p, registry,
 *   serve: (transport, view, caller, onClose) => front.connect(transport, view, caller, onClose),
 *   gate,
 *   runLocal: (name, args, ctx, controller) => router.call(name, args, ctx, { override: 'local', controller })
 * })
 * const router = new RuntimeRouter(registry, { dispatcher: () => (meshRunning ? mesh.dispatcher : undefined) })
 * ```
 *
 * @module
 */
import type { PeerId } from '@libp2p/interface'
import type { Client } from '@modelcontextprotocol/client'
import type { CallToolResult, Tool as McpTool, Transport } from '@modelcontextprotocol/server'
import type { Libp2p } from 'libp2p'
import type { MeshConfig } from '../config/schema.js'
import type { NodeSubsystem } from '../interface/subsystem.js'
import type { MeshServices } from '../interface/libp2p.js'
import type { MeshToolSource } from '../mcp/local-view.js'
import type { ContentSource, ToolView } from '../mcp/view.js'
import type { MeshDispatcher } from '../router/router.js'
import type { ToolRegistry } from '../tools/registry.js'
import type { JsonObject, Tool, ToolCaller, ToolContext } from '../tools/types.js'
import type { TrustGate } from '../trust/index.js'
import type { CatalogAdvert } from './advert.js'
import type { CatalogChange, CatalogPeer, CatalogStats } from './catalog.js'
import type { DispatchCounters } from './dispatcher.js'
import type { ProtocolViolation } from './p2p-transport.js'
import type { InboundCallHook, InboundCounters } from './peer-view.js'
import { Mesh } from './service.js'

/** Per-connection details other layers may add to peer_list (e.g. relayed or direct). */
export type ConnectionDescriber = (peer: PeerId) => Array<Record<string, unknown>>

export interface MeshInit {
  meshName: string
  protocol: MeshConfig['protocol']
  catalog: MeshConfig['catalog']
  /** Announce exported tools in the DHT (`catalog.dhtProvide` with the DHT enabled). */
  dhtProvide: boolean
  /** This node's worker state, carried in its catalog adverts. */
  workerInfo?: () => CatalogAdvert['worker']
  /** Connection details for peer_list. */
  describeConnections?: ConnectionDescriber
  /** Takes authorized inbound calls over (see {@link InboundCallHook}). */
  inboundCall?: InboundCallHook
  /** The catalog changed: the local tool list may have too. */
  onCatalogChange?: (change: CatalogChange) => void
}

export interface MeshComponents {
  libp2p: Libp2p<MeshServices>
  registry: ToolRegistry
  /** Serves one MCP session over `transport` (McpFront.connect). */
  serve: (transport: Transport, view: ToolView, caller: ToolCaller, onClose?: () => void) => Promise<unknown>
  /**
   * The node's one authorization gate: which peers see and may call which
   * tools (the peer view asks it for every list and call), whose adverts the
   * catalog takes (trust.allowPeers), and which peers this node sends calls
   * and tasks to (trust.sendTo). Every refusal of the mesh is counted in it.
   */
  gate: TrustGate
  /**
   * Runs a tool on this node, never routed into the mesh (the router with `override: 'local'`);
   * `controller`, when given, is the controller of `ctx.signal`, made for this call alone
   * (the router's `RouteOptions.controller`: it aborts it rather than chain one of its own).
   */
  runLocal: (name: string, args: JsonObject, ctx: ToolContext, controller?: AbortController) => Promise<CallToolResult>
}

/** What services built on the mesh (the task queue) see of it. */
export interface MeshPort {
  /** Peers in the catalog, with their tools, load and worker state. */
  peers(): CatalogPeer[]
  /** Calls `listener` after every catalog change; returns the unsubscribe. */
  onCatalogChange(listener: () => void): () => void
  /** The pooled MCP client of a peer, dialled on demand. */
  client(peer: PeerId, options?: { signal?: AbortSignal }): Promise<Client>
  /** Drops a peer's pooled stream (after a transport failure), so the next call re-opens it. */
  drop(peer: string): Promise<void>
}

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

/** The `/mcp+p2p` limits in force. */
export interface MeshLimits {
  protocol: string
  maxFrameBytes: number
  requestTimeoutMs: number
  idleTimeoutMs: number
  maxInboundConcurrencyPerPeer: number
  maxInboundQueuePerPeer: number
  maxRequestsPerSecondPerPeer: number
  maxInboundStreamsPerConnection: number
  /** A frame must be complete this long after its first byte, or its stream is aborted. */
  frameTimeoutMs: number
  /** Budgets for bytes of partial frames buffered: per peer, and over all peers. */
  maxPartialFrameBytesPerPeer: number
  maxPartialFrameBytes: number
  /** Node-wide caps: inbound streams, and inbound calls accepted (running or waiting). */
  maxInboundStreams: number
  maxInboundCalls: number
}

/** `mesh_status.subsystems.mesh`. */
export interface MeshStatus {
  protocol: MeshLimits
  inbound: InboundCounters & {
    streams: number
    /** Streams refused at the node-wide stream cap. */
    refusedStreams: number
    /** Bytes of partial frames buffered now, over all peers. */
    partialFrameBytes: number
    violations: Record<ProtocolViolation, number>
  }
  outbound: { pooledStreams: number; streamsOpened: number }
  dispatch?: DispatchCounters
  catalog?: CatalogStats
  /** The gate's refusal counters (every inbound path's denials, busy and rate-limited; outbound skips). */
}

export interface MeshService extends NodeSubsystem {
  readonly name: 'mesh'
  /** For services built on the mesh; usable before start, its calls work once the mesh runs. */
  port(): MeshPort
  /** Sends mesh-routed calls (for the router); throws MeshNotStartedError before start. */
  readonly dispatcher: MeshDispatcher
  /** The mesh's tools as the local client sees them (for the local view); throws MeshNotStartedError before start. */
  readonly surface: MeshToolSource
  /** peer_list, peer_tools and mesh_call: the node registers them after start and unregisters them before stop. */
  tools(): Tool[]
  peerSummaries(): MeshPeerSummary[]
  /** The tools `peer` exports to this node, listed live; throws InvalidPeerIdError for a bad peer ID. */
  peerTools(peer: string, signal: AbortSignal): Promise<McpTool[]>
  /** Calls `tool` on one named peer, without failover; throws InvalidPeerIdError for a bad peer ID. */
  callPeer(peer: string, tool: string, args: JsonObject, ctx: ToolContext, timeoutMs: number): Promise<CallToolResult>
  /**
   * The exported prompts, resources and completions (`source`) as `peer` may
   * use them: every request asked of the gate (path `content`), those that
   * reach a server counted in the peer's inbound limits.
   */
  peerContent(peer: string, source: ContentSource): ContentSource
  status(): MeshStatus
  health(): Promise<{ ok: boolean; detail: string }>
}

export function meshService(init: MeshInit): (components: MeshComponents) => MeshService {
  return (components) => new Mesh(init, components)
}

export type { CatalogAdvert } from './advert.js'
export type {
  CatalogChange,
  CatalogChangeReason,
  CatalogPeer,
  CatalogSource,
  CatalogStats,
  CatalogTool
} from './catalog.js'
export {
  ERROR_CODE_BUSY,
  ERROR_CODE_DENIED,
  ERROR_CODE_RATE_LIMITED,
  GOSSIP_MAX_INBOUND_RPC_BYTES,
  MCP_P2P_PROTOCOL
} from './constants.js'
export type { DispatchCounters } from './dispatcher.js'
export {
  MeshCallTimeoutError,
  MeshNotStartedError,
  NoProviderError,
  OutboundDeniedError,
  PeerDeniedError,
  type PeerRefusal,
  PeerUnreachableError,
  peerRefusal,
  RemoteToolError
} from './errors.js'
export { type CallToolParams, callPeerTool, type PeerCallOptions } from './fast-client-call.js'
export type { ProtocolViolation } from './p2p-transport.js'
export type { InboundCallHook, InboundCounters } from './peer-view.js'
export { withoutServerInfo } from './result-meta.js'
export { type Candidate, rankCandidates, type SelectionOptions } from './selector.js'
export { catalogTopic, meshTopic, meshTopics } from './topics.js'
