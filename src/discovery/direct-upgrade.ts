import type { Connection, IdentifyResult, Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { isCircuit, peerIdOf } from './address.js'
import { MAX_DIRECT_UPGRADE_ADDRS, MAX_DIRECT_UPGRADES } from './constants.js'

const log = meshLogger('discovery:direct-upgrade')

export interface DirectUpgradeInit {
  enabled: boolean
  dialTimeoutMs: number
}

export interface DirectUpgradeStatus {
  enabled: boolean
  attempted: number
  upgraded: number
  failed: number
  lastError?: string
}

/**
 * Replaces a relayed connection with a direct one when the peer advertises
 * addresses this node can dial. js-libp2p's DCUtR only considers public
 * addresses (its unilateral upgrade and hole punch both drop private ones),
 * so two nodes on one LAN, or one host, that met through a relay would stay
 * relayed forever; this dials their advertised private addresses too. DCUtR
 * still handles the public-address cases (hole punching).
 *
 * The node on the receiving end of the relayed connection dials, as in
 * DCUtR: it is the one that was reached through the relay, and its dial is
 * what a NAT in front of the other side would let through.
 */
export class DirectUpgrade {
  readonly #libp2p: Libp2p
  readonly #init: DirectUpgradeInit
  readonly #pending = new Set<string>()
  readonly #status: DirectUpgradeStatus
  #controller?: AbortController

  constructor(libp2p: Libp2p, init: DirectUpgradeInit) {
    this.#libp2p = libp2p
    this.#init = init
    this.#status = { enabled: init.enabled, attempted: 0, upgraded: 0, failed: 0 }
  }

  start(): void {
    if (this.#controller != null || !this.#init.enabled) return
    this.#controller = new AbortController()
    this.#libp2p.addEventListener('peer:identify', this.#onIdentify)
  }

  stop(): void {
    if (this.#controller == null) return
    this.#libp2p.removeEventListener('peer:identify', this.#onIdentify)
    this.#controller.abort()
    this.#controller = undefined
  }

  status(): DirectUpgradeStatus {
    return { ...this.#status }
  }

  readonly #onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { connection, listenAddrs, peerId } = event.detail
    if (!isCircuit(connection.remoteAddr) || connection.direction !== 'inbound') return
    const id = peerId.toString()
    if (this.#pending.has(id) || this.#hasDirect(connection)) return
    // Bounded node-wide and per peer: the addresses are the relayed peer's claims (see constants).
    if (this.#pending.size >= MAX_DIRECT_UPGRADES) return
    const candidates = listenAddrs
      .filter((ma) => !isCircuit(ma))
      .slice(0, MAX_DIRECT_UPGRADE_ADDRS)
      .map((ma) => (peerIdOf(ma) != null ? ma : ma.encapsulate(`/p2p/${id}`)))
    if (candidates.length === 0) return
    void this.#upgrade(connection, candidates)
  }

  #hasDirect(relayed: Connection): boolean {
    return this.#libp2p.getConnections(relayed.remotePeer).some((c) => c.status === 'open' && !isCircuit(c.remoteAddr))
  }

  async #upgrade(relayed: Connection, candidates: Multiaddr[]): Promise<void> {
    const id = relayed.remotePeer.toString()
    const controller = this.#controller
    if (controller == null) return
    this.#pending.add(id)
    this.#status.attempted++
    try {
      const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(this.#init.dialTimeoutMs)])
      const direct = await this.#libp2p.dial(candidates, { signal })
      if (isCircuit(direct.remoteAddr)) throw new Error('the dial returned the relayed connection')
      this.#status.upgraded++
      log('upgraded the relayed connection to %s to a direct one via %a', id, direct.remoteAddr)
      // As DCUtR does: the relay's slot is for peers that cannot connect otherwise.
      await relayed
        .close({ signal: AbortSignal.timeout(this.#init.dialTimeoutMs) })
        .catch(() => relayed.abort(new Error('upgraded')))
    } catch (err) {
      this.#status.failed++
      this.#status.lastError = errorMessage(err)
      log('direct dial to %s (relayed) failed: %s', id, errorMessage(err))
    } finally {
      this.#pending.delete(id)
    }
  }
}
