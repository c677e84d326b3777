import { generateKeyPair } from '@libp2p/crypto/keys'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId, PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import type { Tool as McpTool } from '@modelcontextprotocol/server'
import { TypedEventEmitter } from 'main-event'
import { memberProtocol } from '../../src/discovery/constants.js'
import { Catalog } from '../../src/mesh/catalog.js'
import { type SignedMessage, signAsGossip } from '../../src/mesh/catalog/records.js'
import type { CatalogChange } from '../../src/mesh/catalog/types.js'
import { MCP_P2P_PROTOCOL } from '../../src/mesh/constants.js'
import type { PeerPool } from '../../src/mesh/peer-pool.js'
import { catalogSyncProtocol, catalogTopic } from '../../src/mesh/topics.js'
import type { ToolRegistry } from '../../src/tools/registry.js'
import { TrustGate } from '../../src/trust/index.js'

/**
 * The real Catalog on an in-memory network (no libp2p): gossip is a flood
 * to connected nodes, signed exactly as gossipsub's StrictSign signs, with
 * the topic validator run first; streams are in-memory pairs; a killed node
 * refuses dials. Deliveries to a node can be dropped to simulate loss.
 */

export const MESH = 'default'
const INPUT = { type: 'object', properties: { text: { type: 'string' } } }

interface FakeTool {
  name: string
  inputSchema: Record<string, unknown>
  outputSchema?: Record<string, unknown>
  meta: { tags: string[]; category: string; priority: number; timeoutMs: number }
}

export function tool(name: string, inputSchema: Record<string, unknown> = INPUT): FakeTool {
  return { name, inputSchema, meta: { tags: [], category: 'general', priority: 5, timeoutMs: 1_000 } }
}

class FakeRegistry extends TypedEventEmitter<{ change: CustomEvent<{ type: string; names: string[] }> }> {
  tools: FakeTool[] = []
  list(): FakeTool[] {
    return this.tools
  }
  set(tools: FakeTool[]): void {
    this.tools = tools
    this.safeDispatchEvent('change', { detail: { type: 'register', names: tools.map((t) => t.name) } })
  }
}

type Handler = (stream: Stream, connection: { remotePeer: PeerId }) => void

export class SimNode {
  readonly net: SimNetwork
  readonly key: PrivateKey
  readonly peerId: PeerId
  readonly id: string
  readonly registry = new FakeRegistry()
  readonly libp2p: TypedEventEmitter<Record<string, CustomEvent>>
  readonly pubsub: TypedEventEmitter<Record<string, CustomEvent>> & {
    topicValidators: Map<string, (peer: PeerId, message: SignedMessage) => TopicValidatorResult>
  }
  readonly handlers = new Map<string, Handler>()
  readonly changes: CatalogChange[] = []
  catalog!: Catalog
  alive = true
  /** tools/list round trips served by this node. */
  listings = 0
  #seqno = 0n

  constructor(net: SimNetwork, key: PrivateKey) {
    this.net = net
    this.key = key
    this.peerId = peerIdFromPrivateKey(key)
    this.id = this.peerId.toString()
    this.pubsub = Object.assign(new TypedEventEmitter<Record<string, CustomEvent>>(), {
      topicValidators: new Map(),
      subscribe: () => {},
      unsubscribe: () => {},
      publish: async (topic: string, data: Uint8Array) => this.#publish(topic, data)
    })
    this.libp2p = Object.assign(new TypedEventEmitter<Record<string, CustomEvent>>(), {
      peerId: this.peerId,
      services: { pubsub: this.pubsub },
      contentRouting: {},
      getMultiaddrs: () => [],
      getConnections: (peer?: PeerId) =>
        peer == null
          ? [...net.links(this.id)].map((id) => ({ remotePeer: peerIdFromString(id) }))
          : net.connected(this.id, peer.toString())
            ? [{ remotePeer: peer }]
            : [],
      dial: async (peer: PeerId) => net.connect(this.id, peer.toString()),
      dialProtocol: async (peer: PeerId, protocol: string) => net.open(this.id, peer.toString(), protocol),
      handle: async (protocol: string, handler: Handler) => {
        this.handlers.set(protocol, handler)
      },
      unhandle: async (protocol: string) => {
        this.handlers.delete(protocol)
      },
      peerStore: { merge: async () => {} }
    })
  }

  async start(tools: FakeTool[] = []): Promise<void> {
    this.registry.tools = tools
    const pool = {
      get: async (peer: PeerId) => ({
        listTools: async () => ({ tools: this.net.listTools(peer.toString()) })
      })
    }
    this.catalog = new Catalog(
      this.libp2p as never,
      this.registry as unknown as ToolRegistry,
      pool as unknown as PeerPool,
      {
        meshName: MESH,
        advertIntervalMs: 3_600_000,
        peerTtlMs: 3 * 3_600_000,
        dhtProvide: false,
        capacity: () => ({ maxConcurrency: 4 }),
        isExported: () => true,
        gate: new TrustGate({ export: { tools: [] }, trust: { tools: {} } }, { tools: { get: () => undefined } })
      }
    )
    this.catalog.addEventListener('change', (event) => this.changes.push(event.detail))
    await this.catalog.start()
  }

  /** Tool names this node lists for `peer`, with descriptors (what the surface shows). */
  listed(peer: SimNode): string[] {
    const entry = this.catalog.peer(peer.id)
    if (entry == null) return []
    return [...entry.tools.values()]
      .filter((t) => t.descriptor != null)
      .map((t) => t.advert.name)
      .sort()
  }

  async #publish(topic: string, data: Uint8Array): Promise<{ recipients: PeerId[] }> {
    const message = await signAsGossip(this.key, topic, data, ++this.#seqno)
    // emitSelf, as the node's gossipsub is configured.
    this.pubsub.safeDispatchEvent('message', { detail: message })
    const recipients: PeerId[] = []
    for (const id of this.net.links(this.id)) {
      recipients.push(peerIdFromString(id))
      this.net.relay(this.id, id, message)
    }
    return { recipients }
  }
}

export class SimNetwork {
  readonly nodes = new Map<string, SimNode>()
  readonly #links = new Map<string, Set<string>>()
  /** Deliveries dropped: return true to lose a message from `from` to `to`. */
  drop: (from: string, to: string) => boolean = () => false

  async node(tools: FakeTool[] = []): Promise<SimNode> {
    const node = new SimNode(this, await generateKeyPair('Ed25519'))
    this.nodes.set(node.id, node)
    this.#links.set(node.id, new Set())
    await node.start(tools)
    return node
  }

  links(id: string): Set<string> {
    return this.#links.get(id) ?? new Set()
  }

  connected(a: string, b: string): boolean {
    return this.links(a).has(b)
  }

  /** Connects two live nodes: peer:connect, then peer:identify on both sides. */
  connect(a: string, b: string): void {
    const target = this.nodes.get(b)
    if (target == null || !target.alive) throw new Error(`cannot reach ${b}`)
    if (this.connected(a, b)) return
    this.links(a).add(b)
    this.links(b).add(a)
    const protocols = [MCP_P2P_PROTOCOL, memberProtocol(MESH), catalogSyncProtocol(MESH)]
    for (const [self, other] of [
      [a, b],
      [b, a]
    ] as const) {
      const node = this.nodes.get(self)
      const peerId = peerIdFromString(other)
      node?.libp2p.safeDispatchEvent('peer:connect', { detail: peerId })
      node?.libp2p.safeDispatchEvent('peer:identify', { detail: { peerId, protocols, listenAddrs: [] } })
      node?.pubsub.safeDispatchEvent('subscription-change', {
        detail: { peerId, subscriptions: [{ topic: catalogTopic(MESH), subscribe: true }] }
      })
    }
  }

  disconnect(a: string, b: string): void {
    if (!this.connected(a, b)) return
    this.links(a).delete(b)
    this.links(b).delete(a)
    this.nodes.get(a)?.libp2p.safeDispatchEvent('peer:disconnect', { detail: peerIdFromString(b) })
    this.nodes.get(b)?.libp2p.safeDispatchEvent('peer:disconnect', { detail: peerIdFromString(a) })
  }

  /** SIGKILL: connections drop, nothing is sent, dials fail. */
  kill(node: SimNode): void {
    node.alive = false
    for (const other of [...this.links(node.id)]) this.disconnect(node.id, other)
  }

  deliver(from: string, to: string, message: SignedMessage): void {
    if (this.drop(from, to)) return
    setImmediate(() => {
      const node = this.nodes.get(to)
      if (node == null || !node.alive || !this.connected(from, to)) return
      const validator = node.pubsub.topicValidators.get(message.topic)
      const verdict = validator?.(peerIdFromString(from), message) ?? TopicValidatorResult.Accept
      if (verdict !== TopicValidatorResult.Accept) return
      node.pubsub.safeDispatchEvent('message', { detail: message })
      // Flood on: every node relays what it accepted (gossipsub's seen-cache is the receiver's seq check).
      for (const next of this.links(to))
        if (next !== from && next !== message.from.toString()) this.relay(to, next, message)
    })
  }

  readonly #seen = new Map<string, Set<string>>()
  relay(from: string, to: string, message: SignedMessage): void {
    const key = `${message.from.toString()}:${message.sequenceNumber}`
    let seen = this.#seen.get(to)
    if (seen == null) {
      seen = new Set()
      this.#seen.set(to, seen)
    }
    if (seen.has(key)) return
    seen.add(key)
    this.deliver(from, to, message)
  }

  listTools(id: string): McpTool[] {
    const node = this.nodes.get(id)
    if (node == null || !node.alive) throw new Error(`cannot reach ${id}`)
    node.listings++
    return node.registry.tools.map((t) => ({
      name: t.name,
      inputSchema: t.inputSchema as McpTool['inputSchema'],
      ...(t.outputSchema != null ? { outputSchema: t.outputSchema as McpTool['outputSchema'] } : {})
    }))
  }

  async open(from: string, to: string, protocol: string): Promise<Stream> {
    const target = this.nodes.get(to)
    const handler = target?.handlers.get(protocol)
    if (target == null || !target.alive || handler == null) throw new Error(`cannot open ${protocol} to ${to}`)
    this.connect(from, to)
    const [outbound, inbound] = await streamPair({ protocol })
    handler(inbound, { remotePeer: peerIdFromString(from) })
    return outbound
  }

  async stop(): Promise<void> {
    for (const node of this.nodes.values()) if (node.alive) await node.catalog.stop()
  }
}
