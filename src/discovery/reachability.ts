import type { Libp2p } from '@libp2p/interface'
import type { KadDHT, SingleKadDHT } from '@libp2p/kad-dht'
import { isPrivate } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { isCircuit, relayPeerOf } from './address.js'
import { REACHABILITY_DEBOUNCE_MS } from './constants.js'
import type { NodeAddressView, NodeInternals } from './internals.js'

const log = meshLogger('discovery:reachability')

/**
 * - `public`: AutoNAT (or an announce address) confirmed a public address: anyone can dial us.
 * - `lan`: we listen on private/loopback addresses only and every peer we talk
 *   to is on a private network too: the peers we have can dial us (a LAN or single-host mesh).
 * - `private`: we listen directly but talk to public peers and no public
 *   address is confirmed: behind NAT or a firewall, as far as the WAN is concerned.
 * - `relayed`: no direct listen address; reachable through `/p2p-circuit` addresses.
 * - `unreachable`: no address anyone could dial.
 */
export type Reachability = 'public' | 'lan' | 'private' | 'relayed' | 'unreachable'

export interface ReachabilityInput {
  addresses: readonly NodeAddressView[]
  /** Connections whose remote end is a public, non-relayed address. */
  wanConnections: number
}

export function computeReachability(input: ReachabilityInput): Reachability {
  const direct = input.addresses.filter((a) => !isCircuit(a.multiaddr))
  if (direct.some((a) => a.verified && !isPrivate(a.multiaddr) && a.type !== 'transport')) return 'public'
  if (direct.some((a) => a.verified && a.type === 'transport' && !isPrivate(a.multiaddr))) return 'public'
  if (direct.some((a) => a.type === 'transport')) return input.wanConnections > 0 ? 'private' : 'lan'
  if (input.addresses.some((a) => isCircuit(a.multiaddr) && a.verified)) return 'relayed'
  return 'unreachable'
}

/** kubo's rule, on one DHT: answer queries only where peers can reach us. */
export function dhtModeFor(reachability: Reachability): 'server' | 'client' {
  return reachability === 'public' || reachability === 'lan' ? 'server' : 'client'
}

export interface ReachabilityInit {
  dhtMode: 'auto' | 'server' | 'client'
  relayClient: 'auto' | 'always' | 'off'
  /** `/p2p-circuit` was in the listen addresses from the start. */
  relayListening: boolean
}

export interface ReachabilityStatus {
  reachability: Reachability
  /** Public addresses confirmed by AutoNAT (or configured announce addresses). */
  publicAddresses: string[]
  /** Addresses peers saw us at, not (yet) confirmed by AutoNAT. */
  unverifiedAddresses: string[]
  listenAddresses: string[]
  announceAddresses: string[]
  advertisedAddresses: string[]
  wanConnections: number
  dht: { configuredMode: string; mode: 'server' | 'client'; routingTableSize: number; modeChanges: number }
  relayClient: {
    mode: string
    listening: boolean
    /** Relays holding a reservation for us (from our `/p2p-circuit` addresses). */
    relays: string[]
    circuitAddresses: string[]
    lastError?: string
  }
}

/**
 * Watches our addresses (AutoNAT verifications, relay reservations) and
 * connections, and keeps the DHT mode and relay reservations in line with
 * what peers can actually dial. Re-evaluates on every address or connection
 * change (debounced).
 */
export class ReachabilityMonitor {
  readonly #libp2p: Libp2p<{ dht: KadDHT }>
  readonly #internals: NodeInternals
  readonly #init: ReachabilityInit
  #timer?: NodeJS.Timeout
  #started = false
  #relayListening: boolean
  #relayError?: string
  #modeChanges = 0
  #evaluating?: Promise<void>

  constructor(libp2p: Libp2p<{ dht: KadDHT }>, internals: NodeInternals, init: ReachabilityInit) {
    this.#libp2p = libp2p
    this.#internals = internals
    this.#init = init
    this.#relayListening = init.relayListening
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    for (const event of ['self:peer:update', 'connection:open', 'connection:close'] as const) {
      this.#libp2p.addEventListener(event, this.#schedule)
    }
    this.#schedule()
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    for (const event of ['self:peer:update', 'connection:open', 'connection:close'] as const) {
      this.#libp2p.removeEventListener(event, this.#schedule)
    }
    clearTimeout(this.#timer)
    await this.#evaluating
  }

  wanConnections(): number {
    let count = 0
    for (const connection of this.#libp2p.getConnections()) {
      if (connection.direct && !isCircuit(connection.remoteAddr) && !isPrivate(connection.remoteAddr)) count++
    }
    return count
  }

  reachability(): Reachability {
    return computeReachability({
      addresses: this.#internals.getAddressesWithMetadata(),
      wanConnections: this.wanConnections()
    })
  }

  status(): ReachabilityStatus {
    const addresses = this.#internals.getAddressesWithMetadata()
    const wanConnections = this.wanConnections()
    const advertised = this.#libp2p.getMultiaddrs()
    const circuit = advertised.filter((ma) => isCircuit(ma))
    const publicAddresses = addresses
      .filter((a) => a.verified && !isCircuit(a.multiaddr) && !isPrivate(a.multiaddr))
      .map((a) => a.multiaddr.toString())
    const status: ReachabilityStatus = {
      reachability: computeReachability({ addresses, wanConnections }),
      publicAddresses,
      unverifiedAddresses: addresses.filter((a) => !a.verified).map((a) => a.multiaddr.toString()),
      listenAddresses: this.#internals.getListenAddrs().map((ma) => ma.toString()),
      announceAddresses: this.#internals.getAnnounceAddrs().map((ma) => ma.toString()),
      advertisedAddresses: advertised.map((ma) => ma.toString()),
      wanConnections,
      dht: {
        configuredMode: this.#init.dhtMode,
        mode: this.#libp2p.services.dht.getMode(),
        routingTableSize: routingTableSize(this.#libp2p.services.dht),
        modeChanges: this.#modeChanges
      },
      relayClient: {
        mode: this.#init.relayClient,
        listening: this.#relayListening,
        relays: [...new Set(circuit.map((ma) => relayPeerOf(ma)).filter((id): id is string => id != null))],
        circuitAddresses: circuit.map((ma) => ma.toString())
      }
    }
    if (this.#relayError != null) status.relayClient.lastError = this.#relayError
    return status
  }

  readonly #schedule = (): void => {
    if (!this.#started || this.#timer != null) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#evaluating = this.#evaluate().finally(() => {
        this.#evaluating = undefined
      })
    }, REACHABILITY_DEBOUNCE_MS)
    this.#timer.unref?.()
  }

  async #evaluate(): Promise<void> {
    if (!this.#started) return
    const reachability = this.reachability()
    if (this.#init.dhtMode === 'auto') {
      const wanted = dhtModeFor(reachability)
      const dht = this.#libp2p.services.dht
      if (dht.getMode() !== wanted) {
        log('reachability %s: switching the DHT to %s mode', reachability, wanted)
        try {
          await dht.setMode(wanted)
          this.#modeChanges++
        } catch (err) {
          log.error('cannot switch the DHT to %s mode: %s', wanted, errorMessage(err))
        }
      }
    }
    // Not dialable from the WAN: reserve a slot on a relay (any relay we find).
    if (this.#init.relayClient === 'auto' && !this.#relayListening && reachability === 'private') {
      this.#relayListening = true
      log('reachability %s: listening on /p2p-circuit (relay reservations)', reachability)
      try {
        await this.#internals.listen([multiaddr('/p2p-circuit')])
        this.#relayError = undefined
      } catch (err) {
        this.#relayListening = false
        this.#relayError = errorMessage(err)
        log.error('cannot listen on /p2p-circuit: %s', this.#relayError)
      }
    }
  }
}

/** Size of the DHT's routing table (the instance is a SingleKadDHT; the declared type is not). */
export function routingTableSize(dht: KadDHT): number {
  return (dht as Partial<SingleKadDHT>).routingTable?.size ?? 0
}
