import type { Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { type CatalogAdvert, decodeAdvert } from '../advert.js'
import { MAX_ADVERT_BYTES } from '../constants.js'
import type { DescriptorStore } from './descriptors.js'
import type { PeerTable } from './peers.js'
import type { CatalogStats, CatalogTool, ChangeReporter } from './types.js'

const log = meshLogger('catalog')

export interface AdvertReceiverInit {
  /** This node's peer ID: our own adverts come back and are skipped. */
  self: string
  meshName: string
  topic: string
  peers: PeerTable
  descriptors: DescriptorStore
  stats: CatalogStats
  changed: ChangeReporter
  /** Stores a peer's advertised addresses, so the first dial needs no DHT lookup. */
  storeAddrs: (peerId: string, addrs: Multiaddr[]) => Promise<void>
}

/** The advert's addresses that parse; a malformed one is dropped, not the advert. */
function dialableAddrs(addrs: readonly string[] | undefined): Multiaddr[] {
  const parsed: Multiaddr[] = []
  for (const text of addrs ?? []) {
    try {
      parsed.push(multiaddr(text))
    } catch {
      // A bad address is the sender's problem; the others may still work.
    }
  }
  return parsed
}

/**
 * Takes peers' adverts from the catalog topic. gossipsub's StrictSign
 * envelope is the advert's signature: the validator accepts only signed,
 * well-formed adverts of our mesh that name their signer, and ignores old
 * or repeated sequence numbers, so bad adverts are neither listed nor relayed.
 */
export class AdvertReceiver {
  readonly #init: AdvertReceiverInit

  constructor(init: AdvertReceiverInit) {
    this.#init = init
  }

  /** The topic validator: runs before gossipsub relays a message. */
  validate(peer: PeerId, message: Message): TopicValidatorResult {
    if (message.type !== 'signed') return this.#reject(peer, 'unsigned advert')
    if (message.data.byteLength > MAX_ADVERT_BYTES) return this.#reject(peer, 'advert too large')
    let advert: CatalogAdvert
    try {
      advert = decodeAdvert(message.data)
    } catch (err) {
      return this.#reject(peer, `malformed advert: ${errorMessage(err)}`)
    }
    if (advert.peerId !== message.from.toString())
      return this.#reject(peer, 'advert names a peer other than its signer')
    if (advert.mesh !== this.#init.meshName) return this.#reject(peer, `advert of mesh "${advert.mesh}"`)
    const known = this.#init.peers.get(advert.peerId)
    if (known != null && known.source === 'gossip' && advert.seq <= known.seq) {
      this.#init.stats.advertsIgnored++
      return TopicValidatorResult.Ignore
    }
    return TopicValidatorResult.Accept
  }

  /** Lists the sender with its tools; descriptors not known yet are fetched (the tool is listed once they are). */
  receive(message: Message): void {
    const { peers, descriptors, stats } = this.#init
    if (message.topic !== this.#init.topic) return
    let advert: CatalogAdvert
    try {
      advert = decodeAdvert(message.data)
    } catch {
      return
    }
    if (advert.peerId === this.#init.self) return
    stats.advertsReceived++
    const previous = peers.get(advert.peerId)
    if (previous != null && previous.source === 'gossip' && advert.seq <= previous.seq) return
    const tools = new Map<string, CatalogTool>()
    let missing = false
    for (const tool of advert.tools) {
      const old = previous?.tools.get(tool.name)
      const descriptor =
        (old?.advert.schemaHash === tool.schemaHash ? old.descriptor : undefined) ??
        descriptors.cached(tool.name, tool.schemaHash)
      if (descriptor == null) missing = true
      tools.set(tool.name, { advert: tool, descriptor })
    }
    const changed =
      previous == null ||
      previous.tools.size !== tools.size ||
      [...tools].some(([name, tool]) => previous.tools.get(name)?.advert.schemaHash !== tool.advert.schemaHash)
    peers.set({
      peerId: advert.peerId,
      seq: advert.seq,
      lastSeen: Date.now(),
      source: 'gossip',
      capacity: advert.capacity,
      load: advert.load,
      worker: advert.worker,
      tools,
      latencyMs: previous?.latencyMs,
      disconnectedAt: previous?.disconnectedAt
    })
    if (previous == null) log('advert from new peer %s (%d tools)', advert.peerId, advert.tools.length)
    if (missing) {
      // Addresses first, so the fetch dials at once instead of looking the peer up in the DHT.
      const addrs = previous == null ? dialableAddrs(advert.addrs) : []
      if (addrs.length > 0) {
        this.#init
          .storeAddrs(advert.peerId, addrs)
          .catch((err: unknown) => log('storing addresses of %s failed: %s', advert.peerId, errorMessage(err)))
          .finally(() => descriptors.fetch(advert.peerId))
      } else {
        descriptors.fetch(advert.peerId)
      }
    } else if (changed) this.#init.changed(advert.peerId, 'advert')
  }

  #reject(peer: PeerId, reason: string): TopicValidatorResult {
    this.#init.stats.advertsRejected++
    log('rejected catalog advert relayed by %p: %s', peer, reason)
    return TopicValidatorResult.Reject
  }
}
