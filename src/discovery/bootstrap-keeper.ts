import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { parseMultiaddr, peerIdOf } from './address.js'
import { type BackoffInit, backoffDelay } from './backoff.js'
import { TAG_BOOTSTRAP, TAG_VALUE_BOOTSTRAP } from './constants.js'

const log = meshLogger('discovery:bootstrap')

export type BootstrapState = 'connected' | 'dialing' | 'backoff' | 'stopped'

/** One bootstrap peer as `bootstrap_status` and `doctor` report it. */
export interface BootstrapPeerStatus {
  address: string
  peerId: string
  state: BootstrapState
  /** Dial attempts since start. */
  attempts: number
  /** Failures since the last successful connection (drives the backoff). */
  consecutiveFailures: number
  lastError?: string
  lastAttemptAt?: number
  lastConnectedAt?: number
  connectedSince?: number
  /** When the next dial is due (state `backoff`). */
  nextAttemptAt?: number
  nextAttemptInMs?: number
}

interface Entry {
  address: string
  multiaddr: Multiaddr
  peerId: PeerId
  status: BootstrapPeerStatus
  timer?: NodeJS.Timeout
}

export interface BootstrapKeeperInit {
  addresses: readonly string[]
  backoff: BackoffInit
  dialTimeoutMs: number
}

/**
 * Keeps a connection to every bootstrap peer. A peer that is down is re-dialled
 * with exponential backoff (1 s doubling to 60 s by default, with jitter) for
 * as long as the node runs, and a dropped connection is re-dialled the same
 * way. Works for `/ip4`, `/ip6`, `/dns4`, `/dns6` and `/dnsaddr` addresses
 * (libp2p resolves DNS when it dials). Bootstrap peers are tagged so the
 * connection manager prunes them last.
 */
export class BootstrapKeeper {
  readonly #libp2p: Libp2p
  readonly #init: BootstrapKeeperInit
  readonly #entries: Entry[] = []
  #controller?: AbortController

  constructor(libp2p: Libp2p, init: BootstrapKeeperInit) {
    this.#libp2p = libp2p
    this.#init = init
    for (const address of new Set(init.addresses)) {
      const multiaddr = parseMultiaddr(address)
      const peerId = peerIdOf(multiaddr)
      if (peerId == null) continue // the config schema requires /p2p/<id>; nothing to verify without it
      this.#entries.push({
        address,
        multiaddr,
        peerId,
        status: { address, peerId: peerId.toString(), state: 'stopped', attempts: 0, consecutiveFailures: 0 }
      })
    }
  }

  get size(): number {
    return this.#entries.length
  }

  isBootstrapPeer(peerId: PeerId): boolean {
    return this.#entries.some((entry) => entry.peerId.equals(peerId))
  }

  start(): void {
    if (this.#controller != null) return
    this.#controller = new AbortController()
    this.#libp2p.addEventListener('peer:connect', this.#onConnect)
    this.#libp2p.addEventListener('peer:disconnect', this.#onDisconnect)
    for (const entry of this.#entries) {
      if (this.#libp2p.getConnections(entry.peerId).length > 0) this.#markConnected(entry)
      else void this.#dial(entry)
    }
  }

  stop(): void {
    if (this.#controller == null) return
    this.#controller.abort()
    this.#controller = undefined
    this.#libp2p.removeEventListener('peer:connect', this.#onConnect)
    this.#libp2p.removeEventListener('peer:disconnect', this.#onDisconnect)
    for (const entry of this.#entries) {
      clearTimeout(entry.timer)
      entry.timer = undefined
      entry.status.state = 'stopped'
      delete entry.status.nextAttemptAt
    }
  }

  status(): BootstrapPeerStatus[] {
    const now = Date.now()
    return this.#entries.map((entry) => {
      const status = { ...entry.status }
      if (status.nextAttemptAt != null) status.nextAttemptInMs = Math.max(0, status.nextAttemptAt - now)
      return status
    })
  }

  /** Dials every bootstrap peer that is not connected now, ignoring the backoff. */
  async redialNow(signal?: AbortSignal): Promise<BootstrapPeerStatus[]> {
    await Promise.all(
      this.#entries
        .filter((entry) => entry.status.state !== 'connected' && entry.status.state !== 'dialing')
        .map(async (entry) => {
          clearTimeout(entry.timer)
          await this.#dial(entry, signal)
        })
    )
    return this.status()
  }

  readonly #onConnect = (event: CustomEvent<PeerId>): void => {
    for (const entry of this.#entries) {
      if (entry.peerId.equals(event.detail)) this.#markConnected(entry)
    }
  }

  readonly #onDisconnect = (event: CustomEvent<PeerId>): void => {
    for (const entry of this.#entries) {
      if (!entry.peerId.equals(event.detail) || entry.status.state !== 'connected') continue
      log('bootstrap peer %s disconnected; re-dialling with backoff', entry.status.peerId)
      delete entry.status.connectedSince
      this.#schedule(entry, 1)
    }
  }

  #markConnected(entry: Entry): void {
    clearTimeout(entry.timer)
    entry.timer = undefined
    const now = Date.now()
    if (entry.status.state !== 'connected') entry.status.connectedSince = now
    entry.status.state = 'connected'
    entry.status.lastConnectedAt = now
    entry.status.consecutiveFailures = 0
    delete entry.status.nextAttemptAt
  }

  #schedule(entry: Entry, failures: number): void {
    if (this.#controller == null) return
    clearTimeout(entry.timer)
    const delay = backoffDelay(failures, this.#init.backoff)
    entry.status.state = 'backoff'
    entry.status.nextAttemptAt = Date.now() + delay
    entry.timer = setTimeout(() => void this.#dial(entry), delay)
    entry.timer.unref?.()
  }

  async #dial(entry: Entry, signal?: AbortSignal): Promise<void> {
    const controller = this.#controller
    if (controller == null) return
    entry.timer = undefined
    entry.status.state = 'dialing'
    entry.status.attempts++
    entry.status.lastAttemptAt = Date.now()
    delete entry.status.nextAttemptAt
    try {
      await this.#libp2p.peerStore.merge(entry.peerId, {
        tags: { [TAG_BOOTSTRAP]: { value: TAG_VALUE_BOOTSTRAP } }
      })
      const signals = [controller.signal, AbortSignal.timeout(this.#init.dialTimeoutMs)]
      if (signal != null) signals.push(signal)
      const connection = await this.#libp2p.dial(entry.multiaddr, { signal: AbortSignal.any(signals) })
      if (!connection.remotePeer.equals(entry.peerId)) {
        throw new Error(`the address answered as ${connection.remotePeer.toString()}`)
      }
      delete entry.status.lastError
      this.#markConnected(entry)
    } catch (err) {
      if (controller.signal.aborted) return
      entry.status.consecutiveFailures++
      entry.status.lastError = errorMessage(err)
      log(
        'bootstrap peer %s unreachable (%d): %s',
        entry.address,
        entry.status.consecutiveFailures,
        entry.status.lastError
      )
      // Connected meanwhile over another address (e.g. it dialled us)?
      if (this.#libp2p.getConnections(entry.peerId).length > 0) this.#markConnected(entry)
      else this.#schedule(entry, entry.status.consecutiveFailures)
    }
  }
}
