import type { Tool as McpTool } from '@modelcontextprotocol/server'
import { retryDelayMs } from '../../tools/meta.js'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { type AdvertTool, schemaHash } from '../advert.js'
import {
  DESCRIPTOR_RETRY_ATTEMPTS,
  DESCRIPTOR_RETRY_INITIAL_MS,
  MAX_CACHED_DESCRIPTORS,
  MAX_CATALOG_DESCRIPTOR_BYTES
} from '../constants.js'
import type { PeerTable } from './peers.js'
import { describedFromRecord, type ToolSchemas } from './provider-policy.js'
import type { CatalogPeer, CatalogStats, CatalogTool, ChangeReporter, ListTools } from './types.js'
import { KeyedCounter } from '../../util/counter.js'

const log = meshLogger('catalog')

export interface DescriptorStoreInit {
  peers: PeerTable
  stats: CatalogStats
  listTools: ListTools
  changed: ChangeReporter
  /** Whether the catalog runs (no retries are scheduled once it stops). */
  running: () => boolean
  /** Bytes (JSON) of descriptors held over all peers, and in the cache (default MAX_CATALOG_DESCRIPTOR_BYTES). */
  maxBytes?: number
}

function descriptorBytes(descriptors: readonly McpTool[]): number {
  let bytes = 0
  for (const descriptor of descriptors) bytes += JSON.stringify(descriptor).length
  return bytes
}

function descriptorKey(name: string, hash: string): string {
  return `${name}\0${hash}`
}

/** Whether some tool of the peer has no descriptor yet (it is not listed until it has one). */
export function lacksDescriptors(peer: CatalogPeer): boolean {
  return [...peer.tools.values()].some((tool) => tool.descriptor == null)
}

/** The (name, hash) keys of the peer's tools that have no descriptor yet. */
function missingKeys(peer: CatalogPeer | undefined): string[] {
  if (peer == null) return []
  const keys: string[] = []
  for (const tool of peer.tools.values())
    if (tool.descriptor == null) keys.push(descriptorKey(tool.advert.name, tool.advert.schemaHash))
  return keys
}

/**
 * Full tool descriptors of catalog peers. Adverts carry schema hashes, not
 * schemas: a peer's descriptors are fetched over `/mcp+p2p` (tools/list), one
 * fetch per peer at a time. Their schemas are kept by (name, schema hash),
 * so a tool already described by one peer is listed for the next without a
 * round trip; only the schemas cross (the hash vouches for nothing else):
 * the next peer's description is its own (none until it is fetched from it)
 * and its timeout, retry policy and tags come from its own signed record.
 */
export class DescriptorStore {
  readonly #init: DescriptorStoreInit
  /** Jobs talking to a peer (a descriptor fetch or a direct listing), one per peer at a time. */
  readonly #fetching = new Map<string, Promise<void>>()
  /** Failed fetches per peer: attempt count and the pending retry. */
  readonly #retries = new Map<string, { attempts: number; timer?: NodeJS.Timeout }>()
  /** Verified schemas by `name\0schemaHash` (insertion order = eviction order). */
  readonly #cache = new Map<string, { schemas: ToolSchemas; bytes: number }>()
  #cacheBytes = 0
  /** Bytes of descriptors charged per peer (their JSON), bounded over all peers. */
  readonly #bytesByPeer = new Map<string, number>()
  readonly #maxBytes: number
  /** (name, hash) keys a fetch in flight will describe, and peers waiting for them instead of fetching too. */
  readonly #inflightKeys = new KeyedCounter()
  readonly #waiting = new Set<string>()

  constructor(init: DescriptorStoreInit) {
    this.#init = init
    this.#maxBytes = init.maxBytes ?? MAX_CATALOG_DESCRIPTOR_BYTES
  }

  /**
   * Charges `descriptors` as the whole set held for `peerId` (replacing its
   * previous charge). Returns false, charging nothing, when the set would
   * take the catalog over its descriptor byte budget: they are not listed.
   */
  admit(peerId: string, descriptors: readonly McpTool[]): boolean {
    const stats = this.#init.stats
    const bytes = descriptorBytes(descriptors)
    const previous = this.#bytesByPeer.get(peerId) ?? 0
    if (stats.descriptorBytes - previous + bytes > this.#maxBytes) {
      stats.descriptorsOverBudget++
      log(
        'descriptors of %s (%d bytes) exceed the catalog budget of %d bytes; not listed',
        peerId,
        bytes,
        this.#maxBytes
      )
      return false
    }
    this.#bytesByPeer.set(peerId, bytes)
    stats.descriptorBytes += bytes - previous
    return true
  }

  /** A peer left the catalog: its descriptors no longer count. */
  forget(peerId: string): void {
    const previous = this.#bytesByPeer.get(peerId)
    if (previous == null) return
    this.#bytesByPeer.delete(peerId)
    this.#init.stats.descriptorBytes -= previous
  }

  /**
   * The descriptor of a peer's tool from cached schemas matching the hash its
   * signed record gives, counted as a cache hit: the schemas and that
   * record's metadata only, nothing of the peer the schemas came from.
   */
  cached(advert: AdvertTool): McpTool | undefined {
    const schemas = this.#cache.get(descriptorKey(advert.name, advert.schemaHash))?.schemas
    if (schemas == null) return undefined
    this.#init.stats.descriptorCacheHits++
    return describedFromRecord(advert, schemas)
  }

  /** Verified schemas of `name` with this schema hash, as a bare descriptor, not counted (anti-entropy answers). */
  peek(name: string, hash: string): McpTool | undefined {
    const schemas = this.#cache.get(descriptorKey(name, hash))?.schemas
    return schemas == null ? undefined : { name, ...schemas }
  }

  /**
   * Caches the schemas of a descriptor handed on by another member (a join
   * sync): they are kept under the hash of those schemas, so they can only
   * ever describe a tool advertised with exactly those schemas; the rest of
   * the descriptor (the relayer's word, not its author's) is dropped.
   */
  seed(descriptor: McpTool): void {
    this.#remember(
      descriptorKey(descriptor.name, schemaHash(descriptor.inputSchema, descriptor.outputSchema)),
      descriptor
    )
  }

  /** Whether a job already talks to the peer. */
  busy(peerId: string): boolean {
    return this.#fetching.has(peerId)
  }

  /** Runs `job` as the peer's one job (a direct listing), so no fetch starts meanwhile. */
  async track(peerId: string, job: () => Promise<void>): Promise<void> {
    const running = (async () => {
      try {
        await job()
      } finally {
        this.#fetching.delete(peerId)
      }
    })()
    this.#fetching.set(peerId, running)
    await running
  }

  /**
   * Fetches a peer's descriptors; the catalog lists a tool only once it has
   * one. A descriptor is kept only if its schemas hash to what the peer
   * advertised, so a peer cannot pass off other schemas under a hash, and the
   * (name, hash) cache stays sound. A failed fetch is retried with backoff
   * while the peer is still advertised.
   */
  fetch(peerId: string): void {
    if (this.#fetching.has(peerId) || this.#retries.get(peerId)?.timer != null) return
    const { stats, peers } = this.#init
    // Schemas travel once: if every missing (name, hash) is being fetched from another peer, wait for that.
    const missing = missingKeys(peers.get(peerId))
    if (missing.length > 0 && missing.every((key) => this.#inflightKeys.get(key) > 0)) {
      this.#waiting.add(peerId)
      return
    }
    for (const key of missing) this.#inflightKeys.increment(key)
    const job = (async () => {
      const started = Date.now()
      stats.descriptorFetches++
      try {
        const listed = await this.#init.listTools(peerId)
        log('fetched %d descriptors from %s in %d ms', listed.length, peerId, Date.now() - started)
        this.#retries.delete(peerId)
        const peer = peers.get(peerId)
        if (peer == null) return
        const verified: Array<{ entry: CatalogTool; descriptor: McpTool }> = []
        for (const descriptor of listed) {
          const entry = peer.tools.get(descriptor.name)
          if (entry == null) continue
          if (schemaHash(descriptor.inputSchema, descriptor.outputSchema) !== entry.advert.schemaHash) {
            stats.descriptorMismatches++
            log('%s listed %s with schemas other than it advertised; not listed', peerId, descriptor.name)
            continue
          }
          verified.push({ entry, descriptor })
        }
        // The peer's set as it will be held: already described tools plus those just fetched.
        const held = new Map<string, McpTool>()
        for (const [name, tool] of peer.tools) if (tool.descriptor != null) held.set(name, tool.descriptor)
        for (const { descriptor } of verified) held.set(descriptor.name, descriptor)
        if (!this.admit(peerId, [...held.values()])) return
        for (const { entry, descriptor } of verified) {
          entry.descriptor = descriptor
          this.#remember(descriptorKey(descriptor.name, entry.advert.schemaHash), descriptor)
        }
        this.#init.changed(peerId, 'descriptors')
      } catch (err) {
        stats.descriptorFetchErrors++
        log('fetching tools/list from %s failed: %s', peerId, errorMessage(err))
        this.#scheduleRetry(peerId)
      } finally {
        this.#fetching.delete(peerId)
        for (const key of missing) this.#inflightKeys.decrement(key)
        this.#wakeWaiting()
      }
    })()
    this.#fetching.set(peerId, job)
  }

  /** Peers that waited for another peer's fetch: described from the cache now, or fetched themselves. */
  #wakeWaiting(): void {
    if (this.#waiting.size === 0) return
    const waiting = [...this.#waiting]
    this.#waiting.clear()
    for (const peerId of waiting) {
      const peer = this.#init.peers.get(peerId)
      if (peer == null || !this.#init.running()) continue
      if (this.describeFromCache(peer)) this.#init.changed(peerId, 'descriptors')
      if (lacksDescriptors(peer)) this.fetch(peerId)
    }
  }

  /** Fills the peer's tools that lack a descriptor from the cache; returns whether any was filled. */
  describeFromCache(peer: CatalogPeer): boolean {
    let filled = false
    for (const tool of peer.tools.values()) {
      if (tool.descriptor != null) continue
      const descriptor = this.cached(tool.advert)
      if (descriptor != null) {
        tool.descriptor = descriptor
        filled = true
      }
    }
    return filled
  }

  /** Cancels pending retries (the catalog stops). */
  stop(): void {
    for (const retry of this.#retries.values()) clearTimeout(retry.timer)
    this.#retries.clear()
    this.#waiting.clear()
  }

  #scheduleRetry(peerId: string): void {
    const retry = this.#retries.get(peerId) ?? { attempts: 0 }
    retry.attempts++
    this.#retries.set(peerId, retry)
    // Past the last attempt the next advert (seq > last) starts over.
    if (!this.#init.running() || retry.attempts > DESCRIPTOR_RETRY_ATTEMPTS) {
      this.#retries.delete(peerId)
      return
    }
    retry.timer = setTimeout(
      () => {
        retry.timer = undefined
        const peer = this.#init.peers.get(peerId)
        if (peer == null || !lacksDescriptors(peer)) {
          this.#retries.delete(peerId)
          return
        }
        this.fetch(peerId)
      },
      retryDelayMs({ policy: 'exponential', baseDelayMs: DESCRIPTOR_RETRY_INITIAL_MS }, retry.attempts, false)
    )
    retry.timer.unref()
  }

  /** Caches a verified descriptor's schemas (nothing else), bounded in entries and in bytes (oldest first out). */
  #remember(key: string, descriptor: McpTool): void {
    const old = this.#cache.get(key)
    if (old != null) {
      this.#cache.delete(key)
      this.#cacheBytes -= old.bytes
    }
    const schemas: ToolSchemas = { inputSchema: descriptor.inputSchema }
    if (descriptor.outputSchema != null) schemas.outputSchema = descriptor.outputSchema
    const bytes = JSON.stringify(schemas).length
    this.#cache.set(key, { schemas, bytes })
    this.#cacheBytes += bytes
    while (this.#cache.size > MAX_CACHED_DESCRIPTORS || this.#cacheBytes > this.#maxBytes) {
      const oldest = this.#cache.entries().next().value
      if (oldest == null) break
      this.#cache.delete(oldest[0])
      this.#cacheBytes -= oldest[1].bytes
    }
  }
}
