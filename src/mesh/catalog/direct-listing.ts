import type { PeerId } from '@libp2p/interface'
import type { Tool as McpTool } from '@modelcontextprotocol/server'
import { memberProtocol } from '../../discovery/constants.js'
import { TOOL_META_KEY } from '../../mcp/view.js'
import { DEFAULT_PRIORITY, DEFAULT_TIMEOUT_MS, retryPolicySchema } from '../../tools/meta.js'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { type AdvertTool, advertToolSchema, schemaHash } from '../advert.js'
import {
  DIRECT_LISTING_DELAY_MS,
  DIRECT_LISTING_TIMEOUT_MS,
  MAX_CATALOG_PEERS,
  MAX_CATALOG_TOOLS_PER_PEER,
  MCP_P2P_PROTOCOL
} from '../constants.js'
import { InvalidAdvertError, OutboundDeniedError } from '../errors.js'
import { type DescriptorStore, lacksDescriptors } from './descriptors.js'
import type { PeerTable } from './peers.js'
import type { CatalogGate, CatalogPeer, CatalogStats, ChangeReporter, ListTools } from './types.js'

const log = meshLogger('catalog')

export interface DirectListingInit {
  meshName: string
  peers: PeerTable
  descriptors: DescriptorStore
  stats: CatalogStats
  listTools: ListTools
  changed: ChangeReporter
  /** Whether we have a live connection to the peer. */
  connected: (peer: PeerId) => boolean
  running: () => boolean
  /** Peers not admitted (trust.allowPeers) or not sendable (trust.sendTo) are never listed. */
  gate: CatalogGate
  /** Peers listed at most (default MAX_CATALOG_PEERS). */
  maxPeers?: number
}

/**
 * Peers listed from their tools/list instead of their adverts: DHT providers
 * found on a catalog miss, and members that connected but whose advert has
 * not come yet. They expire like any silent peer unless adverts arrive.
 */
export class DirectListing {
  readonly #init: DirectListingInit
  /** Members identified but not advertised yet: listed directly if no advert comes first. */
  readonly #pending = new Map<string, NodeJS.Timeout>()

  constructor(init: DirectListingInit) {
    this.#init = init
  }

  /**
   * A peer was identified. If it is a member of our mesh (it speaks our
   * member protocol and /mcp+p2p), its advert normally follows within a
   * gossip heartbeat, but can take a whole advert interval (gossipsub drops
   * messages for a peer whose stream is not open yet); if none has come
   * after a short delay its tools are listed directly, so a newcomer sees a
   * peer's tools about as soon as it is connected. Adverts take over when
   * they arrive.
   */
  identified(peerId: PeerId, protocols: readonly string[]): void {
    if (!protocols.includes(MCP_P2P_PROTOCOL) || !protocols.includes(memberProtocol(this.#init.meshName))) return
    const id = peerId.toString()
    if (!this.#listable(id)) return
    const known = this.#init.peers.get(id)
    if (known != null) {
      // Advertised before we could reach it: now we can, fetch what is missing.
      if (lacksDescriptors(known)) this.#init.descriptors.fetch(id)
      return
    }
    if (this.#pending.has(id)) return
    const timer = setTimeout(() => {
      this.#pending.delete(id)
      void this.#listMember(peerId)
    }, DIRECT_LISTING_DELAY_MS)
    timer.unref()
    this.#pending.set(id, timer)
  }

  stop(): void {
    for (const timer of this.#pending.values()) clearTimeout(timer)
    this.#pending.clear()
  }

  /** Lists a peer from its tools/list and adds (or refreshes) it in the catalog. */
  async add(peerId: string, signal?: AbortSignal, source: 'dht' | 'direct' = 'dht'): Promise<CatalogPeer> {
    if (!this.#listable(peerId)) throw new OutboundDeniedError(peerId)
    const { peers, stats } = this.#init
    if (!peers.has(peerId) && peers.size >= (this.#init.maxPeers ?? MAX_CATALOG_PEERS)) {
      stats.catalogFull++
      throw new InvalidAdvertError(`the catalog is full; ${peerId} is not listed`)
    }
    // Tools whose name or metadata no signed record could carry are not listed.
    const listed = (await this.#init.listTools(peerId, signal)).filter((descriptor) => advertOf(descriptor) != null)
    if (listed.length > MAX_CATALOG_TOOLS_PER_PEER) {
      throw new InvalidAdvertError(`${peerId} lists ${listed.length} tools (at most ${MAX_CATALOG_TOOLS_PER_PEER})`)
    }
    const signed = peers.get(peerId)
    if (signed?.source === 'gossip') {
      // Its signed record arrived while we listed: the record decides which tools it offers;
      // the listing only describes those whose schemas match the record's hashes.
      this.#describeRecorded(signed, listed)
      return signed
    }
    const peer: CatalogPeer = signed ?? {
      peerId,
      seq: 0,
      lastSeen: Date.now(),
      source,
      capacity: { maxConcurrency: 1 },
      load: { inFlight: 0, queued: 0 },
      tools: new Map()
    }
    const held = new Map<string, McpTool>()
    for (const [name, tool] of peer.tools) if (tool.descriptor != null) held.set(name, tool.descriptor)
    for (const descriptor of listed) held.set(descriptor.name, descriptor)
    if (held.size > MAX_CATALOG_TOOLS_PER_PEER || !this.#init.descriptors.admit(peerId, [...held.values()])) {
      throw new InvalidAdvertError(`the tools of ${peerId} exceed the catalog's limits; not listed`)
    }
    peer.lastSeen = Date.now()
    for (const descriptor of listed) {
      peer.tools.set(descriptor.name, { advert: advertOf(descriptor)!, descriptor })
      // Cached under the hash of its own schemas: the next peer (or a newcomer's sync) needs no fetch.
      this.#init.descriptors.seed(descriptor)
    }
    peers.set(peer)
    this.#init.changed(peerId, source)
    return peer
  }

  /** Fills descriptors of a recorded peer's tools from a listing, where the schemas hash to the record's. */
  #describeRecorded(peer: CatalogPeer, listed: readonly McpTool[]): void {
    const fill = new Map<string, McpTool>()
    for (const descriptor of listed) {
      const tool = peer.tools.get(descriptor.name)
      if (tool == null || tool.descriptor != null) continue
      if (schemaHash(descriptor.inputSchema, descriptor.outputSchema) !== tool.advert.schemaHash) continue
      fill.set(descriptor.name, descriptor)
    }
    if (fill.size === 0) return
    const held = [...fill.values()]
    for (const tool of peer.tools.values()) if (tool.descriptor != null) held.push(tool.descriptor)
    // The descriptor byte budget holds here too.
    if (!this.#init.descriptors.admit(peer.peerId, held)) return
    for (const [name, descriptor] of fill) {
      const tool = peer.tools.get(name)
      if (tool != null) tool.descriptor = descriptor
    }
    this.#init.changed(peer.peerId, 'descriptors')
  }

  /** Whether the gate lets this node list (and so call) the peer. */
  #listable(peerId: string): boolean {
    const { gate } = this.#init
    return gate.admits(peerId).allowed && gate.maySendTo(peerId)
  }

  async #listMember(peerId: PeerId): Promise<void> {
    const id = peerId.toString()
    const { peers, descriptors } = this.#init
    if (!this.#init.running() || peers.has(id) || descriptors.busy(id)) return
    if (!this.#init.connected(peerId)) return
    await descriptors.track(id, async () => {
      try {
        await this.add(id, AbortSignal.timeout(DIRECT_LISTING_TIMEOUT_MS), 'direct')
        this.#init.stats.directListings++
        log('listed %s directly (no advert yet)', id)
      } catch (err) {
        log('listing %s directly failed (its advert will list it): %s', id, errorMessage(err))
      }
    })
  }
}

/**
 * What an advert would say of a listed tool, read from its descriptor's
 * mcp-mesh metadata, or undefined when that is not a valid advert entry: a
 * listing is the peer's word like a signed record, so it passes the same
 * schema (tool-name pattern, tags, priority, timeout bounds).
 */
export function advertOf(descriptor: McpTool): AdvertTool | undefined {
  const meta = (descriptor._meta?.[TOOL_META_KEY] ?? {}) as Record<string, unknown>
  const retry = retryPolicySchema.safeParse(meta.retry)
  const entry = advertToolSchema.safeParse({
    name: descriptor.name,
    schemaHash: schemaHash(descriptor.inputSchema, descriptor.outputSchema),
    tags: meta.tags ?? [],
    category: meta.category ?? 'general',
    priority: meta.priority ?? DEFAULT_PRIORITY,
    timeoutMs: meta.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    // The peer's own retry policy (the dispatcher applies it to calls to this peer); a malformed one is dropped.
    ...(retry.success ? { retry: retry.data } : {})
  })
  return entry.success ? entry.data : undefined
}
