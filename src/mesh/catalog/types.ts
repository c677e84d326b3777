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
  /**
   * Live load as last reported by the peer. Records no longer carry it (it
   * changes with every call): zero unless a legacy advert said otherwise;
   * the dispatcher adds its own outstanding calls on the peer.
   */
  load: { inFlight: number; queued: number }
  worker?: CatalogAdvert['worker']
  tools: Map<string, CatalogTool>
  /** When the peer's signed record expires (ms since the epoch); absent for direct and DHT listings. */
  expiresAt?: number
  /** Smoothed round trip time in ms (ping and call round trips), when measured. */
  latencyMs?: number
  /** Set while the peer has no connection; it is dropped if none returns within the grace period. */
  disconnectedAt?: number
}

export type CatalogChangeReason = 'advert' | 'descriptors' | 'expired' | 'disconnected' | 'left' | 'dht' | 'direct'

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
  /** How often the unchanged record is re-signed (the refresh; config `catalog.advertIntervalMs`). */
  advertIntervalMs: number
  /** How long a signed record is valid (config `catalog.peerTtlMs`); also the TTL of direct listings. */
  peerTtlMs: number
  dhtProvide: boolean
  /** Our own record's capacity. */
  capacity: () => CatalogAdvert['capacity']
  /** Our live load: no longer published (kept so callers need not change). */
  load?: () => { inFlight: number; queued: number }
  /** Our worker state; its `running` count is not part of the record. */
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
  /** Records of unconnected peers whose addresses were not dialed: the first-contact budget was spent. */
  firstContactsDeferred: number
  /** Records taken through anti-entropy whose first gossip copy was then relayed (not ignored as a replay). */
  recordsRelayedAfterSync: number
  advertsSent: number
  /** Leave records received (the peer's tools were withdrawn at once). */
  leavesReceived: number
  /** Catalog peers re-dialled after their connection dropped, and those dropped because the redial failed. */
  redials: number
  redialFailures: number
  /** Anti-entropy exchanges started by this node, those where digests differed, and records taken from them. */
  syncRounds: number
  syncRepairs: number
  syncRecordsReceived: number
  /** Synced records refused (bad signature, malformed, or refused like a gossiped one). */
  syncRecordsRejected: number
  /** Records held for anti-entropy (one per author, own included). */
  records: number
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
    firstContactsDeferred: 0,
    recordsRelayedAfterSync: 0,
    advertsSent: 0,
    leavesReceived: 0,
    redials: 0,
    redialFailures: 0,
    syncRounds: 0,
    syncRepairs: 0,
    syncRecordsReceived: 0,
    syncRecordsRejected: 0,
    records: 0,
    dhtProvided: 0,
    dhtLookups: 0
  }
}

/** Reports a change of one peer's entry (the catalog turns it into a `change` event). */
export type ChangeReporter = (peer: string, reason: CatalogChangeReason) => void

/** A tools/list round trip to one peer (the pool's client for it). */
export type ListTools = (peer: string, signal?: AbortSignal) => Promise<McpTool[]>
