import type { SubscriptionChangeData } from '@libp2p/gossipsub'
import type { Libp2p } from 'libp2p'
import type { MeshServices } from '../../interface/libp2p.js'
import type { ToolRegistry } from '../../tools/registry.js'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import {
  ADVERT_VERSION,
  type AdvertTool,
  type CatalogAdvert,
  encodeAdvert,
  MAX_ADVERT_ADDRS,
  schemaHash
} from '../advert.js'
import {
  LEAVE_FLUSH_MS,
  RECORD_COALESCE_MS,
  RECORD_CONTENT_CHECK_MS,
  RECORD_MIN_INTERVAL_MS,
  recordTiming
} from './constants.js'
import type { CatalogInit, CatalogStats } from './types.js'

const log = meshLogger('catalog')

export interface AdvertPublisherInit
  extends Pick<CatalogInit, 'meshName' | 'advertIntervalMs' | 'peerTtlMs' | 'capacity' | 'worker' | 'isExported'> {
  libp2p: Pick<Libp2p<MeshServices>, 'peerId' | 'services' | 'getMultiaddrs'> &
    Partial<Pick<Libp2p<MeshServices>, 'addEventListener' | 'removeEventListener'>>
  registry: Pick<ToolRegistry, 'list'>
  topic: string
  stats: CatalogStats
  /** Members known (records held): the refresh interval and TTL grow with it past 1,000. */
  meshSize?: () => number
}

/** The part of a record that decides its sequence number: everything but seq, ts and exp. */
type RecordContent = Pick<CatalogAdvert, 'capacity' | 'worker' | 'tools' | 'addrs'>

/**
 * Publishes this node's signed catalog record (exported tools by name and
 * schema hash, capacity, worker state, addresses, a sequence number and an
 * expiry) on the catalog topic:
 * - when its content changes (registry events, worker registration,
 *   address changes; coalesced, at most one per second): a new sequence
 *   number;
 * - on refresh (`advertIntervalMs`, an hour by default), re-signed with a
 *   new expiry, so a live node's record never runs out;
 * - once more when a peer subscribes while the current record has reached
 *   nobody (a node that started alone is heard when its first peer comes);
 * - as a leave record on a clean stop.
 * Live load is not in the record: it would change the record on every call.
 */
export class AdvertPublisher {
  readonly #init: AdvertPublisherInit
  #seq = Date.now()
  #refreshTimer?: NodeJS.Timeout
  #checkTimer?: NodeJS.Timeout
  #publishSoon?: NodeJS.Timeout
  #started = false
  /** The content (JSON) of the last record built, its tools part cached until the registry changes. */
  #content?: string
  #tools?: AdvertTool[]
  #lastPublishAt = 0
  /** Peers the current record was sent to when last published (0: nobody has it). */
  #recipients = 0
  #current?: CatalogAdvert
  /** Our addresses as last read (refreshed on `self:peer:update`). */
  #addrs?: string[]
  readonly #onSelfUpdate = (): void => {
    this.#addrs = undefined
    this.#checkContent()
  }

  constructor(init: AdvertPublisherInit) {
    this.#init = init
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    this.#checkTimer = setInterval(() => this.#checkContent(), RECORD_CONTENT_CHECK_MS)
    this.#checkTimer.unref()
    this.#init.libp2p.addEventListener?.('self:peer:update', this.#onSelfUpdate)
    this.#scheduleRefresh()
    this.schedulePublish(0)
  }

  stop(): void {
    this.#started = false
    clearTimeout(this.#refreshTimer)
    this.#refreshTimer = undefined
    clearInterval(this.#checkTimer)
    this.#checkTimer = undefined
    clearTimeout(this.#publishSoon)
    this.#publishSoon = undefined
    this.#init.libp2p.removeEventListener?.('self:peer:update', this.#onSelfUpdate)
  }

  /** The registry changed: the tools part of the record is rebuilt and, if it differs, published. */
  toolsChanged(): void {
    this.#tools = undefined
    this.#checkContent()
  }

  /**
   * A peer subscribed to the catalog topic. If our current record reached
   * nobody (we were alone when it was published), publish it again now that
   * someone listens; otherwise nothing: the newcomer gets every record,
   * ours included, from its join sync. gossipsub fires this event for any
   * subscription RPC, of any topic: only a subscribe to our topic counts.
   */
  subscriptionChanged(data: SubscriptionChangeData): void {
    if (!data.subscriptions.some((sub) => sub.topic === this.#init.topic && sub.subscribe)) return
    if (this.#recipients > 0) return
    this.schedulePublish(Math.max(20, this.#lastPublishAt + RECORD_MIN_INTERVAL_MS - Date.now()), false)
  }

  /** Publishes our record after `delayMs` (a new one if `renew`), coalescing bursts of triggers. */
  schedulePublish(delayMs: number, renew = true): void {
    if (!this.#started || this.#publishSoon != null) return
    this.#publishSoon = setTimeout(() => {
      this.#publishSoon = undefined
      this.publish(renew)
    }, delayMs)
    this.#publishSoon.unref()
  }

  /** Publishes our record: a newly signed one (next seq, new expiry) unless `renew` is false and one exists. */
  publish(renew = true): void {
    if (!this.#started) return
    if (renew || this.#current == null) this.#current = this.#build()
    this.#send(this.#current).catch(() => {})
  }

  /**
   * Publishes a leave record (no tools, `leave: true`) and gives it a moment
   * to go out: members withdraw our tools at once instead of waiting for a
   * failed redial or the expiry.
   */
  async leave(): Promise<void> {
    if (!this.#started && this.#current == null) return
    const advert: CatalogAdvert = { ...this.#build(), tools: [], leave: true }
    const sent = this.#send(advert).catch(() => {})
    await Promise.race([sent, new Promise<void>((resolve) => setTimeout(resolve, LEAVE_FLUSH_MS).unref())])
  }

  /** Our current record (built now if none was yet). */
  ownAdvert(): CatalogAdvert {
    this.#current ??= this.#build()
    return this.#current
  }

  async #send(advert: CatalogAdvert): Promise<void> {
    const stats = this.#init.stats
    this.#lastPublishAt = Date.now()
    try {
      const result = await this.#init.libp2p.services.pubsub.publish(this.#init.topic, encodeAdvert(advert))
      stats.advertsSent++
      // With emitSelf gossipsub counts this node among the recipients: only other peers count.
      const self = this.#init.libp2p.peerId
      if (advert === this.#current) this.#recipients = result.recipients.filter((peer) => !peer.equals(self)).length
    } catch (err) {
      log('record publish failed: %s', errorMessage(err))
      throw err
    }
  }

  #scheduleRefresh(): void {
    clearTimeout(this.#refreshTimer)
    if (!this.#started) return
    this.#refreshTimer = setTimeout(() => {
      this.publish()
      this.#scheduleRefresh()
    }, this.#timing().refreshMs)
    this.#refreshTimer.unref()
  }

  /**
   * Publishes (coalesced, rate-limited) when the record's content differs
   * from the last one built. Addresses are read again only when libp2p says
   * they changed (`self:peer:update`), not on every periodic check.
   */
  #checkContent(): void {
    if (!this.#started || this.#content == null) return
    if (JSON.stringify(this.#contentNow()) === this.#content) return
    const wait = Math.max(RECORD_COALESCE_MS, this.#lastPublishAt + RECORD_MIN_INTERVAL_MS - Date.now())
    log('own record changed; publishing in %d ms', wait)
    this.schedulePublish(wait)
  }

  #contentNow(): RecordContent {
    const init = this.#init
    this.#tools ??= init.registry
      .list()
      .filter((tool) => init.isExported(tool.name))
      .map((tool) => ({
        name: tool.name,
        schemaHash: schemaHash(tool.inputSchema, tool.outputSchema),
        tags: tool.meta.tags,
        category: tool.meta.category,
        priority: tool.meta.priority,
        timeoutMs: tool.meta.timeoutMs,
        retry: tool.meta.retry
      }))
    const worker = init.worker?.()
    this.#addrs ??= init.libp2p
      .getMultiaddrs()
      .slice(0, MAX_ADVERT_ADDRS)
      .map((ma) => ma.toString())
    return {
      capacity: init.capacity(),
      // The running count changes with load: not part of the record.
      worker:
        worker == null
          ? undefined
          : { accepting: worker.accepting, maxConcurrency: worker.maxConcurrency, tags: worker.tags },
      tools: this.#tools,
      addrs: this.#addrs
    }
  }

  #timing(): { refreshMs: number; ttlMs: number } {
    return recordTiming(this.#init.advertIntervalMs, this.#init.peerTtlMs, this.#init.meshSize?.() ?? 0)
  }

  #build(): CatalogAdvert {
    const content = this.#contentNow()
    this.#content = JSON.stringify(content)
    const ts = Date.now()
    this.#seq = Math.max(this.#seq + 1, ts)
    return {
      v: ADVERT_VERSION,
      mesh: this.#init.meshName,
      peerId: this.#init.libp2p.peerId.toString(),
      seq: this.#seq,
      ts,
      exp: ts + this.#timing().ttlMs,
      ...content
    }
  }
}
