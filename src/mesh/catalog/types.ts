import type { Tool as McpTool } from '@modelcontextprotocol/server'
import type { TrustGate } from '../../trust/index.js'
import type { AdvertTool, CatalogAdvert } from '../advert.js'

export interface CatalogTool {
  advert: AdvertTool
  /** The full MCP descriptor, fetched from the peer's tools/list. */
  descriptor?: McpTool
}

/** How a peer was found: its gossip adverts, a DHT provider lookup, or a direct listing on connect. */
export type CatalogSource = 'gossip' | 'dht' | 'direct'

export interface CatalogPeer {
  peerId: string
  seq: number
  lastSeen: number
  source: CatalogSource
  capacity: CatalogAdvert['capacity']
  load: CatalogAdvert['load']
  worker?: CatalogAdvert['worker']
  tools: Map<string, CatalogTool>
  /** Smoothed round trip time in ms (ping and call round trips), when measured. */
  latencyMs?: number
  /** Set while the peer has no connection; it is dropped if none returns within the grace period. */
  disconnectedAt?: number
}

export type CatalogChangeReason = 'advert' | 'descriptors' | 'expired' | 'disconnected' | 'dht' | 'direct'

/** What changed in the catalog: which peer, and why. */
export interface CatalogChange {
  peer: string
  reason: CatalogChangeReason
}

export interface CatalogEvents {
  change: CustomEvent<CatalogChange>
}

export interface CatalogInit {
  meshName: string
  advertIntervalMs: number
  peerTtlMs: number
  dhtProvide: boolean
  /** Our own advert's capacity and live load. */
  capacity: () => CatalogAdvert['capacity']
  load: () => CatalogAdvert['load']
  worker?: () => CatalogAdvert['worker']
  isExported: (name: string) => boolean
  /**
   * The trust gate: adverts of peers it does not admit (trust.allowPeers) are
   * ignored, peers it may not send to (trust.sendTo) are neither listed nor
   * asked for descriptors, and refused adverts are counted in it.
   */
  gate: CatalogGate
}

/** What the catalog asks of the trust gate. */
export type CatalogGate = Pick<TrustGate, 'admits' | 'checkPeer' | 'maySendTo' | 'refused'>

export interface CatalogStats {
  peers: number
  tools: number
  /** Members listed directly on connect because no advert of theirs had arrived yet. */
  directListings: number
  /** Descriptors taken from the (name, schema hash) cache instead of a tools/list round trip. */
  descriptorCacheHits: number
  /** tools/list fetches of peers' descriptors, and those that failed. */
  descriptorFetches: number
  descriptorFetchErrors: number
  /** Fetched descriptors whose schemas did not match the hash the peer advertised (not listed). */
  descriptorMismatches: number
  advertsReceived: number
  advertsRejected: number
  advertsIgnored: number
  /** Adverts ignored as stale, dated in the future, or replayed (sequence not above the last accepted). */
  advertsStale: number
  /** Adverts or listings refused because the catalog is full (peers). */
  catalogFull: number
  /** Descriptor listings refused because they would exceed the descriptor byte budget. */
  descriptorsOverBudget: number
  /** Bytes (JSON) of descriptors held for catalog peers. */
  descriptorBytes: number
  advertsSent: number
  dhtProvided: number
  dhtLookups: number
}

export function emptyStats(): CatalogStats {
  return {
    peers: 0,
    tools: 0,
    directListings: 0,
    descriptorCacheHits: 0,
    descriptorFetches: 0,
    descriptorFetchErrors: 0,
    descriptorMismatches: 0,
    advertsReceived: 0,
    advertsRejected: 0,
    advertsIgnored: 0,
    advertsStale: 0,
    catalogFull: 0,
    descriptorsOverBudget: 0,
    descriptorBytes: 0,
    advertsSent: 0,
    dhtProvided: 0,
    dhtLookups: 0
  }
}

/** Reports a change of one peer's entry (the catalog turns it into a `change` event). */
export type ChangeReporter = (peer: string, reason: CatalogChangeReason) => void

/** A tools/list round trip to one peer (the pool's client for it). */
export type ListTools = (peer: string, signal?: AbortSignal) => Promise<McpTool[]>
