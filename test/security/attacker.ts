import { createHash } from 'node:crypto'
import { type GossipSub, gossipsub, StrictSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { track } from '../helpers/cleanup.js'
import { waitFor, withTimeout } from '../helpers/wait.js'

/**
 * A hostile mesh peer for the security specs: a bare js-libp2p host (TCP on
 * 127.0.0.1, Noise, yamux, identify, ping, gossipsub with StrictSign, no
 * mDNS) that speaks the mesh's wire protocols byte for byte but follows none
 * of its rules unless told to.
 *
 * The wire constants are duplicated here on purpose: the specs depend on the
 * protocols, not on where src/ keeps them.
 */

export const MCP_P2P_PROTOCOL = '/mcp+p2p/1.0.0'
export const DEFAULT_MESH = 'default'
export const METHOD_CLAIM = 'mcp-mesh/task/claim'
export const METHOD_HEARTBEAT = 'mcp-mesh/task/heartbeat'
export const METHOD_COMPLETE = 'mcp-mesh/task/complete'
export const METHOD_ABORT = 'mcp-mesh/task/abort'
export const MCP_PROTOCOL_VERSION = '2025-06-18'
const MAX_FRAME_BYTES = 16 * 1024 * 1024

export function memberProtocol(mesh: string): string {
  return `/mcp-mesh/${mesh}/member/1.0.0`
}
export function catalogTopic(mesh: string): string {
  return `/mcp-mesh/${mesh}/catalog/1.0.0`
}
export function taskTopic(mesh: string): string {
  return `/mcp-mesh/${mesh}/tasks/1.0.0`
}

export type Json = Record<string, unknown>

export interface JsonRpcError {
  code: number
  message: string
}

export interface JsonRpcMessage {
  jsonrpc: '2.0'
  id?: string | number | null
  method?: string
  params?: Json
  result?: Json
  error?: JsonRpcError
}

/** A u32 big-endian length, then the UTF-8 JSON. */
export function encodeFrame(value: unknown): Uint8Array {
  const body = new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value))
  const frame = new Uint8Array(4 + body.byteLength)
  new DataView(frame.buffer).setUint32(0, body.byteLength, false)
  frame.set(body, 4)
  return frame
}

/** Splits a byte stream into frame bodies. */
class FrameReader {
  readonly #buffer = new Uint8ArrayList()

  push(chunk: Uint8Array | Uint8ArrayList): Uint8Array[] {
    this.#buffer.append(chunk)
    const frames: Uint8Array[] = []
    while (this.#buffer.byteLength >= 4) {
      const length = this.#buffer.getUint32(0, false)
      if (length > MAX_FRAME_BYTES) throw new Error(`frame of ${length} bytes`)
      if (this.#buffer.byteLength < 4 + length) break
      frames.push(this.#buffer.subarray(4, 4 + length))
      this.#buffer.consume(4 + length)
    }
    return frames
  }
}

/** Thrown (as a rejection) for a JSON-RPC error response. */
export class RpcError extends Error {
  readonly code: number
  constructor(error: JsonRpcError) {
    super(error.message)
    this.name = 'RpcError'
    this.code = error.code
  }
}

/**
 * One `/mcp+p2p` stream, driven frame by frame. Responses are matched by id;
 * everything the other side sends is kept in `received`.
 */
export class FrameSession {
  readonly stream: Stream
  readonly received: JsonRpcMessage[] = []
  #nextId = 1
  #closed = false
  #closeError?: Error
  readonly #pending = new Map<string | number, { resolve: (m: JsonRpcMessage) => void; reject: (e: Error) => void }>()
  /** Called for each request or notification from the other side (server role). */
  onRequest?: (message: JsonRpcMessage) => void

  constructor(stream: Stream) {
    this.stream = stream
    const reader = new FrameReader()
    stream.addEventListener('message', (event) => {
      let frames: Uint8Array[]
      try {
        frames = reader.push(event.data)
      } catch (err) {
        stream.abort(err as Error)
        return
      }
      for (const frame of frames) {
        let message: JsonRpcMessage
        try {
          message = JSON.parse(new TextDecoder().decode(frame)) as JsonRpcMessage
        } catch {
          continue
        }
        this.received.push(message)
        if (message.method == null && message.id != null) {
          const waiter = this.#pending.get(message.id)
          this.#pending.delete(message.id)
          waiter?.resolve(message)
        } else if (message.method != null) {
          this.onRequest?.(message)
        }
      }
    })
    stream.addEventListener('close', (event) => {
      this.#closed = true
      this.#closeError = (event as unknown as { error?: Error }).error
      for (const waiter of this.#pending.values())
        waiter.reject(new Error('stream closed', { cause: this.#closeError }))
      this.#pending.clear()
    })
  }

  /** True once the stream is closed in both directions (or reset). */
  get closed(): boolean {
    return (
      this.#closed ||
      this.stream.status === 'closed' ||
      this.stream.status === 'reset' ||
      this.stream.status === 'aborted'
    )
  }

  get closeError(): Error | undefined {
    return this.#closeError
  }

  sendRaw(bytes: Uint8Array): void {
    this.stream.send(bytes)
  }

  send(message: JsonRpcMessage): void {
    this.stream.send(encodeFrame(message))
  }

  notify(method: string, params: Json = {}): void {
    this.send({ jsonrpc: '2.0', method, params })
  }

  /** Sends a request and resolves with the whole response message (result or error). */
  async exchange(method: string, params: Json = {}, timeoutMs = 10_000): Promise<JsonRpcMessage> {
    if (this.closed) throw new Error('stream closed')
    const id = this.#nextId++
    const response = new Promise<JsonRpcMessage>((resolve, reject) => this.#pending.set(id, { resolve, reject }))
    this.send({ jsonrpc: '2.0', id, method, params })
    return withTimeout(response, timeoutMs, `response to ${method}`)
  }

  /** Sends a request and resolves with its result; rejects with RpcError on an error response. */
  async request<T = Json>(method: string, params: Json = {}, timeoutMs = 10_000): Promise<T> {
    const response = await this.exchange(method, params, timeoutMs)
    if (response.error != null) throw new RpcError(response.error)
    return response.result as T
  }

  /** The MCP lifecycle as a client: initialize, then notifications/initialized. */
  async initialize(clientName = 'attacker'): Promise<Json> {
    const result = await this.request('initialize', {
      protocolVersion: MCP_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: clientName, version: '0.0.1' }
    })
    this.notify('notifications/initialized')
    return result
  }

  /** Ends our write side (the remote sees end of input); reading goes on. */
  async endWrite(): Promise<void> {
    await this.stream.close({ signal: AbortSignal.timeout(5_000) })
  }

  abort(): void {
    this.stream.abort(new Error('attacker aborted'))
  }
}

/** What the attacker answers when a node calls it (server role). Return a never-settling promise to hang. */
export type MethodHandler = (params: Json, context: { peer: string; id: string | number }) => Json | Promise<Json>

export interface InboundRequest {
  peer: string
  method: string
  params: Json
  at: number
}

export interface AttackerOptions {
  mesh?: string
  /** Tools answered to tools/list (default none). */
  tools?: Json[]
  /** Announce the mesh's member protocol in identify, as a real node does (default true). */
  member?: boolean
  /** Inbound connections per second accepted per IP (libp2p's default is 5). */
  inboundConnectionThreshold?: number
}

/** A never-settling promise, for handlers that hang. */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => {})
}

export class Attacker {
  readonly libp2p: Libp2p<{ pubsub: GossipSub }>
  readonly mesh: string
  /** Every request or notification nodes sent to our `/mcp+p2p` server. */
  readonly inbound: InboundRequest[] = []
  /** Every gossip message we received, by topic. */
  readonly gossip: Array<{ topic: string; from: string; data: Json }> = []
  readonly handlers = new Map<string, MethodHandler>()
  readonly serverSessions: FrameSession[] = []
  tools: Json[]
  #seq = Date.now()

  private constructor(libp2p: Attacker['libp2p'], options: AttackerOptions) {
    this.libp2p = libp2p
    this.mesh = options.mesh ?? DEFAULT_MESH
    this.tools = options.tools ?? []
  }

  static async create(options: AttackerOptions = {}): Promise<Attacker> {
    const libp2p = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      ...(options.inboundConnectionThreshold != null
        ? { connectionManager: { inboundConnectionThreshold: options.inboundConnectionThreshold } }
        : {}),
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({
          allowPublishToZeroTopicPeers: true,
          emitSelf: false,
          globalSignaturePolicy: StrictSign,
          scoreParams: { IPColocationFactorWhitelist: new Set(['127.0.0.1', '::1']) }
        })
      }
    })
    const attacker = new Attacker(libp2p as Attacker['libp2p'], options)
    track('attacker libp2p peer', async () => libp2p.stop())
    await libp2p.handle(MCP_P2P_PROTOCOL, (stream, connection) => attacker.#serve(stream, connection), {
      maxInboundStreams: 64,
      maxOutboundStreams: 64
    })
    if (options.member !== false) {
      await libp2p.handle(memberProtocol(attacker.mesh), (stream) => void stream.close().catch(() => {}), {
        maxInboundStreams: 4,
        maxOutboundStreams: 4
      })
    }
    libp2p.services.pubsub.addEventListener('message', (event) => {
      const message = event.detail
      try {
        const data = JSON.parse(new TextDecoder().decode(message.data)) as Json
        const from = message.type === 'signed' ? message.from.toString() : ''
        attacker.gossip.push({ topic: message.topic, from, data })
      } catch {}
    })
    return attacker
  }

  get peerId(): string {
    return this.libp2p.peerId.toString()
  }

  /** Dials a node (an address with /p2p/) and waits until identify has run both ways. */
  async dial(address: string): Promise<PeerId> {
    const ma = multiaddr(address)
    const connection = await this.libp2p.dial(ma)
    return connection.remotePeer
  }

  /** Opens a fresh `/mcp+p2p` stream to `target` (address or peer ID). */
  async open(target: string): Promise<FrameSession> {
    const to = target.startsWith('/') ? multiaddr(target) : peerIdFromString(target)
    const stream = await this.libp2p.dialProtocol(to, MCP_P2P_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
    return new FrameSession(stream)
  }

  /** A fresh stream with the MCP lifecycle done: ready for tools/* and peer-only methods. */
  async session(target: string): Promise<FrameSession> {
    const session = await this.open(target)
    await session.initialize()
    return session
  }

  /** Answers `method` (server role) with `handler` from now on. */
  on(method: string, handler: MethodHandler): void {
    this.handlers.set(method, handler)
  }

  /** Waits for a request of `method` (from `peer` when given) that matches `predicate`. */
  async waitForInbound(
    method: string,
    options: { timeoutMs?: number; peer?: string; predicate?: (r: InboundRequest) => boolean } = {}
  ): Promise<InboundRequest> {
    return waitFor(
      () =>
        this.inbound.find(
          (r) =>
            r.method === method &&
            (options.peer == null || r.peer === options.peer) &&
            (options.predicate == null || options.predicate(r))
        ),
      { timeoutMs: options.timeoutMs ?? 15_000, message: `inbound ${method} at the attacker` }
    )
  }

  inboundOf(method: string): InboundRequest[] {
    return this.inbound.filter((r) => r.method === method)
  }

  subscribe(topic: string): void {
    this.libp2p.services.pubsub.subscribe(topic)
  }

  /** Waits until `peer` is known to be subscribed to `topic`, so a publish reaches it. */
  async waitForSubscriber(topic: string, peer: string, timeoutMs = 15_000): Promise<void> {
    this.subscribe(topic)
    await waitFor(() => this.libp2p.services.pubsub.getSubscribers(topic).some((p) => p.toString() === peer), {
      timeoutMs,
      message: `${peer} subscribed to ${topic} (as seen by the attacker)`
    })
  }

  async publish(topic: string, value: unknown): Promise<number> {
    const result = await this.libp2p.services.pubsub.publish(topic, new TextEncoder().encode(JSON.stringify(value)))
    return result.recipients.length
  }

  /** Publishes a task announcement with ourselves as owner (anything else fails the node's signature check). */
  async announce(
    tasks: Array<{ id: string; tool: string; priority?: number; tags?: string[]; peer?: string }>
  ): Promise<number> {
    return this.publish(taskTopic(this.mesh), {
      v: 1,
      mesh: this.mesh,
      owner: this.peerId,
      ts: Date.now(),
      tasks: tasks.map((t) => ({
        id: t.id,
        tool: t.tool,
        priority: t.priority ?? 5,
        tags: t.tags ?? [],
        ...(t.peer != null ? { peer: t.peer } : {})
      }))
    })
  }

  /** Publishes a catalog advert for ourselves; `patch` overrides any field (ts, seq, tools...). */
  async advertise(patch: Json = {}): Promise<number> {
    const advert = {
      v: 1,
      mesh: this.mesh,
      peerId: this.peerId,
      seq: ++this.#seq,
      ts: Date.now(),
      capacity: { maxConcurrency: 8 },
      load: { inFlight: 0, queued: 0 },
      worker: { accepting: true, maxConcurrency: 8, running: 0, tags: [] },
      tools: [],
      addrs: this.libp2p.getMultiaddrs().map((ma) => ma.toString()),
      ...patch
    }
    return this.publish(catalogTopic(this.mesh), advert)
  }

  nextSeq(): number {
    return ++this.#seq
  }

  connections(peer: string): Connection[] {
    return this.libp2p.getConnections(peerIdFromString(peer))
  }

  async stop(): Promise<void> {
    await this.libp2p.stop()
  }

  /** Our `/mcp+p2p` server: MCP lifecycle, tools/list, and whatever `on()` installed. */
  #serve(stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer.toString()
    const session = new FrameSession(stream)
    this.serverSessions.push(session)
    session.onRequest = (message) => {
      const method = message.method!
      this.inbound.push({ peer, method, params: message.params ?? {}, at: Date.now() })
      if (message.id == null) return
      const id = message.id
      const reply = (body: { result: Json } | { error: JsonRpcError }): void => {
        try {
          session.send({ jsonrpc: '2.0', id, ...body })
        } catch {}
      }
      const handler = this.handlers.get(method)
      if (handler != null) {
        Promise.resolve()
          .then(() => handler(message.params ?? {}, { peer, id }))
          .then(
            (result) => reply({ result }),
            (err: unknown) =>
              reply({
                error: { code: (err as { code?: number }).code ?? -32603, message: (err as Error).message }
              })
          )
        return
      }
      if (method === 'initialize') {
        const requested = (message.params?.protocolVersion as string | undefined) ?? MCP_PROTOCOL_VERSION
        reply({
          result: {
            protocolVersion: requested,
            capabilities: { tools: { listChanged: false } },
            serverInfo: { name: 'attacker', version: '0.0.1' }
          }
        })
      } else if (method === 'ping') reply({ result: {} })
      else if (method === 'tools/list') reply({ result: { tools: this.tools } })
      else reply({ error: { code: -32601, message: `method not found: ${method}` } })
    }
  }
}

/** A tool descriptor for tools/list (what a real node would list). */
export function toolDescriptor(name: string, inputSchema: Json = { type: 'object', properties: {} }): Json {
  return { name, description: `attacker's ${name}`, inputSchema }
}

/** Keys sorted at every level, as the mesh hashes schemas (duplicated from the wire contract). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Json)
        .sort()
        .map((key) => [key, canonical((value as Json)[key])])
    )
  }
  return value
}

/** The advert's schemaHash: sha256 of the canonical JSON of `{ inputSchema, outputSchema }`. */
export function schemaHash(inputSchema: unknown, outputSchema?: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical({ inputSchema, outputSchema: outputSchema ?? null })))
    .digest('hex')
}

/** An advert tool entry matching `toolDescriptor(name, inputSchema)`. */
export function advertTool(name: string, inputSchema: Json = { type: 'object', properties: {} }): Json {
  return {
    name,
    schemaHash: schemaHash(inputSchema),
    tags: [],
    category: 'test',
    priority: 5,
    timeoutMs: 30_000
  }
}
