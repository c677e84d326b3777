import type { Libp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { PROVIDE_DEBOUNCE_MS } from '../constants.js'
import type { CatalogPeer, CatalogStats } from './types.js'

const log = meshLogger('catalog')

/** CID under which providers of `tool` in `mesh` are announced in the DHT. */
export async function toolProviderCid(mesh: string, tool: string): Promise<CID> {
  const digest = await sha256.digest(new TextEncoder().encode(`mcp-mesh/${mesh}/tool/${tool}`))
  return CID.createV1(raw.code, digest)
}

export interface ProviderRecordsInit {
  libp2p: Pick<Libp2p, 'peerId' | 'contentRouting' | 'peerStore'>
  meshName: string
  /** Announce our exported tools (config `catalog.dhtProvide` with the DHT on). */
  provide: boolean
  /** Names of the tools this node exports. */
  exported: () => string[]
  stats: CatalogStats
}

/**
 * The catalog in the DHT: one provider record per exported tool, and look-ups
 * on a catalog miss to find providers beyond our gossip neighbourhood.
 */
export class ProviderRecords {
  readonly #init: ProviderRecordsInit
  #started = false
  #abort?: AbortController
  #provideSoon?: NodeJS.Timeout

  constructor(init: ProviderRecordsInit) {
    this.#init = init
  }

  start(): void {
    this.#started = true
    this.provideAll()
  }

  stop(): void {
    this.#started = false
    this.#abort?.abort()
    clearTimeout(this.#provideSoon)
  }

  /** Registry changes come in bursts at start: re-provide once they settle. */
  scheduleProvide(): void {
    clearTimeout(this.#provideSoon)
    this.#provideSoon = setTimeout(() => this.provideAll(), PROVIDE_DEBOUNCE_MS)
    this.#provideSoon.unref()
  }

  /** (Re-)announces a DHT provider record per exported tool, in the background. */
  provideAll(): void {
    if (!this.#init.provide || !this.#started) return
    this.#abort?.abort()
    const controller = new AbortController()
    this.#abort = controller
    const { libp2p, meshName, stats } = this.#init
    const names = this.#init.exported()
    void (async () => {
      for (const name of names) {
        if (controller.signal.aborted) return
        try {
          await libp2p.contentRouting.provide(await toolProviderCid(meshName, name), { signal: controller.signal })
          stats.dhtProvided++
        } catch (err) {
          log('providing %s in the DHT failed: %s', name, errorMessage(err))
        }
      }
    })()
  }

  /**
   * Finds providers of `tool` in the DHT and adds each with `add`; resolves
   * with the first that offers it.
   */
  async lookup(
    tool: string,
    signal: AbortSignal,
    add: (peerId: string, signal: AbortSignal) => Promise<CatalogPeer | undefined>
  ): Promise<CatalogPeer | undefined> {
    const { libp2p, meshName, stats } = this.#init
    stats.dhtLookups++
    const cid = await toolProviderCid(meshName, tool)
    const self = libp2p.peerId.toString()
    for await (const provider of libp2p.contentRouting.findProviders(cid, { signal })) {
      const id = provider.id.toString()
      if (id === self) continue
      try {
        if (provider.multiaddrs.length > 0)
          await libp2p.peerStore.merge(provider.id, { multiaddrs: provider.multiaddrs })
        const peer = await add(id, signal)
        if (peer?.tools.has(tool) === true) return peer
      } catch (err) {
        log('dht provider %s for %s failed: %s', id, tool, errorMessage(err))
      }
    }
    return undefined
  }
}
