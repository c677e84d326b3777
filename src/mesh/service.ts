import type { Connection, Stream } from '@libp2p/interface'
import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/server'
import type { ContentSource } from '../mcp/view.js'
import type { JsonObject, Tool, ToolContext } from '../tools/types.js'
import { strangersShare } from '../trust/index.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { parsePeerId, tryParsePeerId } from '../util/peer-id.js'
import { schemaHash } from './advert.js'
import { Catalog } from './catalog.js'
import { DEFAULT_RECORD_REFRESH_MS, DEFAULT_RECORD_TTL_MS } from './catalog/constants.js'
import {
  DEFAULT_FRAME_TIMEOUT_MS,
  DEFAULT_MAX_HELD_CALL_BYTES,
  DEFAULT_MAX_HELD_CALL_BYTES_PER_PEER,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_INBOUND_CALLS_TOTAL,
  DEFAULT_MAX_INBOUND_CONCURRENCY_PER_PEER,
  DEFAULT_MAX_INBOUND_STREAMS_TOTAL,
  DEFAULT_MAX_PARTIAL_FRAME_BYTES,
  DEFAULT_MAX_PARTIAL_FRAME_BYTES_PER_PEER,
  DEFAULT_MAX_INBOUND_QUEUE_PER_PEER,
  DEFAULT_MAX_REQUESTS_PER_SECOND_PER_PEER,
  DEFAULT_REQUEST_TIMEOUT_MS,
  ERROR_CODE_BUSY,
  LATENCY_PROBE_INTERVAL_MS,
  MAX_INBOUND_STREAMS,
  MAX_OUTBOUND_STREAMS,
  MCP_P2P_PROTOCOL
} from './constants.js'
import { PeerDispatcher } from './dispatcher.js'
import { MeshNotStartedError, OutboundDeniedError } from './errors.js'
import { encodeFrame } from './frame.js'
import { PartialFrameBudget } from './frame-budget.js'
import type {
  MeshComponents,
  MeshInit,
  MeshLimits,
  MeshPeerSummary,
  MeshPort,
  MeshService,
  MeshStatus
} from './index.js'
import { P2PStreamTransport, PROTOCOL_VIOLATIONS, type ProtocolViolation } from './p2p-transport.js'
import { PeerPool } from './peer-pool.js'
import { guardPeerContent } from './peer-content-guard.js'
import { InboundLimiter, PeerToolView, type PeerViewHost } from './peer-view.js'
import { MeshSurface, peerAlias } from './surface.js'
import { createMeshCallTool } from './tools/mesh-call.js'
import { createPeerListTool } from './tools/peer-list.js'
import { createPeerToolsTool } from './tools/peer-tools.js'

const log = meshLogger('mesh')

/**
 * The mesh service (built by `meshService()` in index.ts): the protocol
 * handler, the pool, the catalog, the surface and the dispatcher, created on
 * start and wired to each other; the node only sees the MeshService interface.
 */
export class Mesh implements MeshService {
  readonly name = 'mesh'
  readonly limits: MeshLimits
  readonly limiter: InboundLimiter
  readonly #violations = Object.fromEntries(PROTOCOL_VIOLATIONS.map((kind) => [kind, 0])) as Record<
    ProtocolViolation,
    number
  >
  readonly #budget: PartialFrameBudget
  readonly #init: MeshInit
  readonly #components: MeshComponents
  readonly #viewHost: PeerViewHost
  readonly #tools: Tool[]
  readonly #catalogListeners = new Set<() => void>()
  #port?: MeshPort
  #pool?: PeerPool
  #catalog?: Catalog
  #surface?: MeshSurface
  #dispatcher?: PeerDispatcher
  #probeTimer?: NodeJS.Timeout
  #inboundStreams = 0
  /** Of those, streams of peers the gate does not admit (trust.allowPeers): they get their own share of the cap. */
  #strangerStreams = 0
  /** Inbound streams refused because the node-wide cap was reached. */
  #refusedStreams = 0
  #started = false
  readonly #onRegistryChange = (): void => this.#surface?.invalidate()

  constructor(init: MeshInit, components: MeshComponents) {
    this.#init = init
    this.#components = components
    const protocol = init.protocol
    this.limits = {
      protocol: MCP_P2P_PROTOCOL,
      maxFrameBytes: protocol.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      requestTimeoutMs: protocol.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      idleTimeoutMs: protocol.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      maxInboundConcurrencyPerPeer: protocol.maxInboundConcurrencyPerPeer ?? DEFAULT_MAX_INBOUND_CONCURRENCY_PER_PEER,
      maxInboundQueuePerPeer: DEFAULT_MAX_INBOUND_QUEUE_PER_PEER,
      maxRequestsPerSecondPerPeer: protocol.maxRequestsPerSecondPerPeer ?? DEFAULT_MAX_REQUESTS_PER_SECOND_PER_PEER,
      maxInboundStreamsPerConnection: MAX_INBOUND_STREAMS,
      frameTimeoutMs: protocol.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS,
      maxPartialFrameBytesPerPeer: protocol.maxPartialFrameBytesPerPeer ?? DEFAULT_MAX_PARTIAL_FRAME_BYTES_PER_PEER,
      maxPartialFrameBytes: protocol.maxPartialFrameBytes ?? DEFAULT_MAX_PARTIAL_FRAME_BYTES,
      maxInboundStreams: protocol.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS_TOTAL,
      maxInboundCalls: protocol.maxInboundCalls ?? DEFAULT_MAX_INBOUND_CALLS_TOTAL
    }
    const gate = components.gate
    this.#budget = new PartialFrameBudget(
      this.limits.maxPartialFrameBytesPerPeer,
      this.limits.maxPartialFrameBytes,
      (peer) => !gate.admits(peer).allowed
    )
    this.limiter = new InboundLimiter(
      {
        maxConcurrencyPerPeer: this.limits.maxInboundConcurrencyPerPeer,
        maxQueuePerPeer: this.limits.maxInboundQueuePerPeer,
        maxRequestsPerSecondPerPeer: this.limits.maxRequestsPerSecondPerPeer,
        requestTimeoutMs: this.limits.requestTimeoutMs,
        maxCallsTotal: this.limits.maxInboundCalls,
        // One call of the largest allowed frame always fits.
        maxHeldBytesPerPeer: Math.max(DEFAULT_MAX_HELD_CALL_BYTES_PER_PEER, this.limits.maxFrameBytes),
        maxHeldBytes: Math.max(DEFAULT_MAX_HELD_CALL_BYTES, 2 * this.limits.maxFrameBytes)
      },
      (kind, peer, reason, path) => gate.refused(path, kind, peer, reason)
    )
    this.#viewHost = {
      registry: components.registry,
      gate,
      runLocal: components.runLocal,
      inboundCall: init.inboundCall
    }
    this.#tools = [
      createPeerListTool(() => this.peerSummaries()),
      createPeerToolsTool(async (peer, signal) => this.peerTools(peer, signal)),
      createMeshCallTool(async (peer, tool, args, ctx, timeoutMs) => this.callPeer(peer, tool, args, ctx, timeoutMs))
    ]
  }

  /** Frames and messages refused on `/mcp+p2p` streams, by kind. */
  get violations(): Readonly<Record<ProtocolViolation, number>> {
    return this.#violations
  }

  get catalog(): Catalog {
    if (this.#catalog == null) throw new MeshNotStartedError()
    return this.#catalog
  }

  get pool(): PeerPool {
    if (this.#pool == null) throw new MeshNotStartedError()
    return this.#pool
  }

  get dispatcher(): PeerDispatcher {
    if (this.#dispatcher == null) throw new MeshNotStartedError()
    return this.#dispatcher
  }

  get surface(): MeshSurface {
    if (this.#surface == null) throw new MeshNotStartedError()
    return this.#surface
  }

  tools(): Tool[] {
    return [...this.#tools]
  }

  /**
   * The exported prompts, resources and completions as `peer` may use them:
   * each request asked of the gate, those reaching a server under the peer's
   * inbound limits (see `guardPeerContent`).
   */
  peerContent(peer: string, source: ContentSource): ContentSource {
    return guardPeerContent(source, peer, { gate: this.#components.gate, limiter: this.limiter })
  }

  port(): MeshPort {
    this.#port ??= {
      // trust.sendTo: the catalog lists no other peer; filtered again so no task is ever pushed to one.
      peers: () => (this.#catalog?.peers() ?? []).filter((peer) => this.#components.gate.maySendTo(peer.peerId)),
      onCatalogChange: (listener) => {
        // A wrapper per subscription, so one listener may subscribe twice and unsubscribe once.
        const entry = (): void => listener()
        this.#catalogListeners.add(entry)
        return () => {
          this.#catalogListeners.delete(entry)
        }
      },
      client: async (peer, options) => this.pool.get(peer, options),
      drop: async (peer) => this.pool.drop(peer)
    }
    return this.#port
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    const { libp2p, registry, gate } = this.#components
    const init = this.#init
    this.#pool = new PeerPool(libp2p, {
      maxFrameBytes: this.limits.maxFrameBytes,
      idleTimeoutMs: this.limits.idleTimeoutMs,
      frameTimeoutMs: this.limits.frameTimeoutMs,
      budget: this.#budget,
      onViolation: (kind) => {
        this.#violations[kind]++
      }
    })
    const catalog = new Catalog(libp2p, registry, this.#pool, {
      meshName: init.meshName,
      // The record refresh and lifetime; the record itself is published on change.
      advertIntervalMs: init.catalog.advertIntervalMs ?? DEFAULT_RECORD_REFRESH_MS,
      peerTtlMs: init.catalog.peerTtlMs ?? DEFAULT_RECORD_TTL_MS,
      dhtProvide: init.dhtProvide,
      isExported: (name) => gate.isExported(name),
      gate,
      capacity: () => ({ maxConcurrency: this.limits.maxInboundConcurrencyPerPeer }),
      worker: () => init.workerInfo?.()
    })
    this.#catalog = catalog
    this.#surface = new MeshSurface(catalog, (name) => {
      const tool = registry.get(name)
      return tool == null ? undefined : schemaHash(tool.inputSchema, tool.outputSchema)
    })
    registry.addEventListener('change', this.#onRegistryChange)
    this.#dispatcher = new PeerDispatcher(catalog, this.#surface, this.#pool, gate)
    catalog.addEventListener('change', (event) => {
      init.onCatalogChange?.(event.detail)
      for (const listener of this.#catalogListeners) listener()
      if (event.detail.reason === 'advert' || event.detail.reason === 'descriptors')
        this.#sampleLatency(event.detail.peer)
    })

    await libp2p.handle(MCP_P2P_PROTOCOL, (stream, connection) => this.#accept(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS,
      // Relayed connections are limited (src/node/libp2p-defaults.ts relayServerInit); calls still flow on them.
      runOnLimitedConnection: true
    })
    await catalog.start()
    this.#probeTimer = setInterval(() => {
      for (const peer of catalog.peers()) this.#sampleLatency(peer.peerId)
    }, LATENCY_PROBE_INTERVAL_MS)
    this.#probeTimer.unref()
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    clearInterval(this.#probeTimer)
    this.#components.registry.removeEventListener('change', this.#onRegistryChange)
    await this.#catalog?.stop()
    await this.#components.libp2p.unhandle(MCP_P2P_PROTOCOL).catch(() => {})
    await this.#pool?.close()
  }

  status(): MeshStatus {
    return {
      protocol: this.limits,
      inbound: {
        streams: this.#inboundStreams,
        refusedStreams: this.#refusedStreams,
        partialFrameBytes: this.#budget.used,
        ...this.limiter.counters,
        violations: { ...this.#violations }
      },
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
    const byPeer = new Map<string, MeshPeerSummary>()
    const summary = (peerId: string): MeshPeerSummary => {
      let entry = byPeer.get(peerId)
      if (entry == null) {
        entry = { peerId, alias: peerAlias(peerId), connected: false, addresses: [], inCatalog: false, tools: [] }
        byPeer.set(peerId, entry)
      }
      return entry
    }
    for (const connection of this.#components.libp2p.getConnections()) {
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
    const describe = this.#init.describeConnections
    if (describe != null) {
      for (const entry of byPeer.values()) {
        if (entry.connected) entry.connections = describe(parsePeerId(entry.peerId))
      }
    }
    return [...byPeer.values()]
  }

  async peerTools(peer: string, signal: AbortSignal): Promise<McpTool[]> {
    parsePeerId(peer)
    if (!this.#components.gate.checkSend('call', peer)) throw new OutboundDeniedError(peer)
    const client = await this.pool.get(parsePeerId(peer), { signal })
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
    return this.dispatcher.callPeer(peer, tool, args, ctx, timeoutMs)
  }

  #accept(stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer.toString()
    // A peer outside trust.allowPeers is still served (it is told "denied" per call), but from a
    // small share of the cap of its own: strangers must not take the slots of admitted peers.
    const stranger = !this.#components.gate.admits(peer).allowed
    const full = stranger
      ? this.#strangerStreams >= strangersShare(this.limits.maxInboundStreams)
      : this.#inboundStreams - this.#strangerStreams >= this.limits.maxInboundStreams
    if (full) {
      this.#refuseStream(stream, peer, stranger ? 'of peers outside trust.allowPeers ' : '')
      return
    }
    stream.inactivityTimeout = this.limits.idleTimeoutMs
    const transport = new P2PStreamTransport(stream, {
      maxFrameBytes: this.limits.maxFrameBytes,
      peer,
      frameTimeoutMs: this.limits.frameTimeoutMs,
      budget: this.#budget,
      onViolation: (kind, detail) => {
        this.#violations[kind]++
        log('peer %s: %s (%s)', peer, kind, detail)
      }
    })
    this.#inboundStreams++
    if (stranger) this.#strangerStreams++
    let open = true
    const closed = (): void => {
      if (!open) return
      open = false
      this.#inboundStreams--
      if (stranger) this.#strangerStreams--
    }
    const view = new PeerToolView(peer, this.#viewHost, this.limiter)
    this.#components.serve(transport, view, { kind: 'peer', peerId: peer }, closed).catch((err: unknown) => {
      closed()
      log.error('inbound /mcp+p2p session from %s failed: %s', peer, errorMessage(err))
      stream.abort(err as Error)
    })
  }

  /**
   * Node-wide stream cap reached (minting peer IDs must buy no streams): the
   * peer is told it is busy (a JSON-RPC error with no id), and the stream ends.
   */
  #refuseStream(stream: Stream, peer: string, whose = ''): void {
    this.#refusedStreams++
    const cap = whose === '' ? this.limits.maxInboundStreams : strangersShare(this.limits.maxInboundStreams)
    const reason = `busy: more than ${cap} inbound /mcp+p2p streams ${whose}on this node`
    this.#components.gate.refused('call', 'busy', peer, reason)
    try {
      stream.send(
        encodeFrame(
          JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: ERROR_CODE_BUSY, message: reason } }),
          this.limits.maxFrameBytes
        )
      )
    } catch {}
    stream.close({ signal: AbortSignal.timeout(1_000) }).then(
      () => stream.abort(new Error(reason)),
      () => stream.abort(new Error(reason))
    )
  }

  /**
   * Folds in the round trip libp2p's connection monitor measured on its last
   * ping of the peer's connection. No ping of our own: a second pinger per
   * connection only adds streams (and refused streams abort connections).
   */
  #sampleLatency(peer: string): void {
    const id = tryParsePeerId(peer)
    if (id == null) return
    const rtts = this.#components.libp2p
      .getConnections(id)
      .map((connection) => connection.rtt)
      .filter((rtt): rtt is number => rtt != null && Number.isFinite(rtt))
    if (rtts.length > 0) this.#catalog?.recordLatency(peer, Math.min(...rtts))
  }
}
