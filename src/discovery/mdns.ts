import type { Libp2p, PeerInfo } from '@libp2p/interface'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { MDNS_DIAL_MAX_FILL } from './constants.js'

const log = meshLogger('discovery')

/** The @libp2p/mdns service as discovery uses it. */
export interface MdnsService extends EventTarget {
  /** The multicast-dns socket of @libp2p/mdns (not part of its typed API). */
  mdns?: { query(query: { questions: Array<{ name: string; type: string }> }): void }
}

export interface MdnsDialerInit {
  serviceTag: string
  maxConnections: number
  dialTimeoutMs: number
}

/** What one mDNS query found (`peer_discover`'s `mdns` entry). */
export interface MdnsQueryReport {
  enabled: boolean
  found: string[]
  error?: string
}

/**
 * Dials the peers mDNS announces (while connections are below
 * `MDNS_DIAL_MAX_FILL` of the maximum), counts them, and runs a query on
 * demand. Inert when the node has no mDNS service.
 */
export class MdnsDialer {
  readonly #libp2p: Libp2p
  readonly #init: MdnsDialerInit
  readonly #discovered = new Set<string>()
  #mdns?: MdnsService

  constructor(libp2p: Libp2p, init: MdnsDialerInit) {
    this.#libp2p = libp2p
    this.#init = init
  }

  /** Peers mDNS announced since start (this node excluded). */
  get discovered(): number {
    return this.#discovered.size
  }

  start(mdns: MdnsService | undefined): void {
    if (mdns == null) return
    this.#mdns = mdns
    mdns.addEventListener('peer', this.#onPeer)
  }

  stop(): void {
    this.#mdns?.removeEventListener('peer', this.#onPeer)
    this.#mdns = undefined
  }

  /** Sends a query and collects the peers that answer within `windowMs` (or until `signal`). */
  async query(windowMs: number, signal: AbortSignal): Promise<MdnsQueryReport> {
    const mdns = this.#mdns
    if (mdns == null) return { enabled: false, found: [] }
    const found = new Set<string>()
    const onPeer = (event: Event): void => {
      found.add((event as CustomEvent<PeerInfo>).detail.id.toString())
    }
    mdns.addEventListener('peer', onPeer)
    try {
      mdns.mdns?.query({ questions: [{ name: this.#init.serviceTag, type: 'PTR' }] })
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, windowMs)
        signal.addEventListener('abort', () => {
          clearTimeout(timer)
          resolve()
        })
      })
      return { enabled: true, found: [...found] }
    } catch (err) {
      return { enabled: true, found: [...found], error: errorMessage(err) }
    } finally {
      mdns.removeEventListener('peer', onPeer)
    }
  }

  readonly #onPeer = (event: Event): void => {
    const peer = (event as CustomEvent<PeerInfo>).detail
    const libp2p = this.#libp2p
    if (peer.id.equals(libp2p.peerId)) return
    this.#discovered.add(peer.id.toString())
    if (libp2p.getConnections(peer.id).length > 0) return
    if (libp2p.getConnections().length >= this.#init.maxConnections * MDNS_DIAL_MAX_FILL) return
    // A peer without our swarm key (or of another mesh) is found too: with pnet
    // the dial then fails closed in the handshake.
    libp2p
      .dial(peer.id, { signal: AbortSignal.timeout(this.#init.dialTimeoutMs) })
      .catch((err: unknown) => log('mDNS peer %s: dial failed: %s', peer.id.toString(), errorMessage(err)))
  }
}
