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
import { SUBSCRIPTION_PUBLISH_MIN_INTERVAL_MS } from '../constants.js'
import type { CatalogInit, CatalogStats } from './types.js'

const log = meshLogger('catalog')

export interface AdvertPublisherInit
  extends Pick<CatalogInit, 'meshName' | 'advertIntervalMs' | 'capacity' | 'load' | 'worker' | 'isExported'> {
  libp2p: Pick<Libp2p<MeshServices>, 'peerId' | 'services' | 'getMultiaddrs'>
  registry: Pick<ToolRegistry, 'list'>
  topic: string
  stats: CatalogStats
}

/**
 * Publishes this node's signed advert (exported tools by name and schema
 * hash, capacity, load, worker state, addresses, a sequence number) on the
 * catalog topic: periodically, soon after the registry changes, and when a
 * peer subscribes. Bursts of triggers coalesce into one advert.
 */
export class AdvertPublisher {
  readonly #init: AdvertPublisherInit
  #seq = Date.now()
  #timer?: NodeJS.Timeout
  #publishSoon?: NodeJS.Timeout
  #lastTriggeredPublish = 0
  #started = false

  constructor(init: AdvertPublisherInit) {
    this.#init = init
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    this.#timer = setInterval(() => this.publish(), this.#init.advertIntervalMs)
    this.#timer.unref()
    this.schedulePublish(0)
  }

  stop(): void {
    this.#started = false
    clearInterval(this.#timer)
    this.#timer = undefined
    clearTimeout(this.#publishSoon)
    this.#publishSoon = undefined
  }

  /**
   * A peer subscribed to the catalog topic: publish our advert for it (at
   * most once per SUBSCRIPTION_PUBLISH_MIN_INTERVAL_MS, so a mesh with
   * connection churn does not multiply adverts). gossipsub fires this event
   * for any subscription RPC, of any topic, and re-sends subscriptions on
   * every new stream: only a subscribe to our topic counts. A directly
   * connected newcomer that misses this advert (its stream was not open
   * yet) lists us directly instead (DirectListing on its side).
   */
  subscriptionChanged(data: SubscriptionChangeData): void {
    if (!data.subscriptions.some((sub) => sub.topic === this.#init.topic && sub.subscribe)) return
    const wait = Math.max(20, this.#lastTriggeredPublish + SUBSCRIPTION_PUBLISH_MIN_INTERVAL_MS - Date.now())
    this.#lastTriggeredPublish = Date.now() + wait
    this.schedulePublish(wait)
  }

  /** Publishes our advert after `delayMs`, coalescing bursts of triggers. */
  schedulePublish(delayMs: number): void {
    if (!this.#started || this.#publishSoon != null) return
    this.#publishSoon = setTimeout(() => {
      this.#publishSoon = undefined
      this.publish()
    }, delayMs)
    this.#publishSoon.unref()
  }

  publish(): void {
    if (!this.#started) return
    const stats = this.#init.stats
    this.#init.libp2p.services.pubsub.publish(this.#init.topic, encodeAdvert(this.ownAdvert())).then(
      () => {
        stats.advertsSent++
      },
      (err: unknown) => log('advert publish failed: %s', errorMessage(err))
    )
  }

  ownAdvert(): CatalogAdvert {
    const init = this.#init
    const tools: AdvertTool[] = init.registry
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
    return {
      v: ADVERT_VERSION,
      mesh: init.meshName,
      peerId: init.libp2p.peerId.toString(),
      seq: ++this.#seq,
      ts: Date.now(),
      capacity: init.capacity(),
      load: init.load(),
      worker: init.worker?.(),
      tools,
      addrs: init.libp2p
        .getMultiaddrs()
        .slice(0, MAX_ADVERT_ADDRS)
        .map((ma) => ma.toString())
    }
  }
}
