import type { IdentifyResult, Libp2p, PeerId, PeerStore } from '@libp2p/interface'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import {
  IN_USE_TTL_MS,
  MAINTENANCE_INTERVAL_MS,
  MCP_P2P_PROTOCOL,
  TAG_IN_USE,
  TAG_MEMBER,
  TAG_VALUE_IN_USE,
  TAG_VALUE_MEMBER
} from './constants.js'
import type { KnownPeers } from './known-peers.js'
import { membershipOf } from './membership.js'

const log = meshLogger('discovery:upkeep')

/**
 * Marks `peerId` as serving tools we use, so the connection manager keeps its
 * connection when it prunes (the tag expires `ttlMs` after the last call).
 * Upkeep also does this on its own for peers with an open `/mcp+p2p` stream.
 */
export async function markPeerInUse(peerStore: PeerStore, peerId: PeerId, ttlMs = IN_USE_TTL_MS): Promise<void> {
  await peerStore.merge(peerId, { tags: { [TAG_IN_USE]: { value: TAG_VALUE_IN_USE, ttl: ttlMs } } })
}

export interface ConnectionUpkeepInit {
  mesh: string
  minConnections: number
  /** Disconnect identified peers of other meshes. */
  isolate: boolean
  knownPeers: KnownPeers
}

export interface ConnectionUpkeepStatus {
  minConnections: number
  isolate: boolean
  inUsePeers: number
  foreignDisconnected: number
  lastTopUp?: { at: number; attempted: number; connected: number }
}

/**
 * Keeps the connections worth keeping: tags mesh members and peers whose
 * tools are in use (pruned last), tops up to `minConnections` from known
 * peers, and, with `mesh.isolate`, drops peers of other meshes.
 */
export class ConnectionUpkeep {
  readonly #libp2p: Libp2p
  readonly #init: ConnectionUpkeepInit
  #timer?: NodeJS.Timeout
  #running?: Promise<void>
  #controller?: AbortController
  #inUse = 0
  /** When each in-use peer was last tagged: the tag is refreshed at half its TTL, not every tick. */
  readonly #tagged = new Map<string, number>()
  #foreignDisconnected = 0
  #lastTopUp?: ConnectionUpkeepStatus['lastTopUp']

  constructor(libp2p: Libp2p, init: ConnectionUpkeepInit) {
    this.#libp2p = libp2p
    this.#init = init
  }

  start(): void {
    if (this.#timer != null) return
    this.#controller = new AbortController()
    this.#libp2p.addEventListener('peer:identify', this.#onIdentify)
    this.#timer = setInterval(() => {
      this.#running ??= this.tick().finally(() => {
        this.#running = undefined
      })
    }, MAINTENANCE_INTERVAL_MS)
    this.#timer.unref?.()
  }

  async stop(): Promise<void> {
    if (this.#timer == null) return
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#controller?.abort()
    this.#libp2p.removeEventListener('peer:identify', this.#onIdentify)
    await this.#running
  }

  status(): ConnectionUpkeepStatus {
    const status: ConnectionUpkeepStatus = {
      minConnections: this.#init.minConnections,
      isolate: this.#init.isolate,
      inUsePeers: this.#inUse,
      foreignDisconnected: this.#foreignDisconnected
    }
    if (this.#lastTopUp != null) status.lastTopUp = { ...this.#lastTopUp }
    return status
  }

  /** One upkeep round (also run by the timer). */
  async tick(): Promise<void> {
    const inUse = new Map<string, PeerId>()
    for (const connection of this.#libp2p.getConnections()) {
      if (connection.streams.some((stream) => stream.protocol === MCP_P2P_PROTOCOL)) {
        inUse.set(connection.remotePeer.toString(), connection.remotePeer)
      }
    }
    this.#inUse = inUse.size
    const now = Date.now()
    for (const [id, peerId] of inUse) {
      if (now - (this.#tagged.get(id) ?? 0) < IN_USE_TTL_MS / 2) continue
      this.#tagged.set(id, now)
      await markPeerInUse(this.#libp2p.peerStore, peerId).catch(() => {})
    }
    for (const id of this.#tagged.keys()) if (!inUse.has(id)) this.#tagged.delete(id)
    const peers = new Set(this.#libp2p.getConnections().map((c) => c.remotePeer.toString())).size
    if (peers < this.#init.minConnections) {
      const result = await this.#init.knownPeers
        .redial({ limit: this.#init.minConnections - peers, signal: this.#controller?.signal })
        .catch((err: unknown) => {
          log('topping up connections failed: %s', errorMessage(err))
          return undefined
        })
      if (result != null && result.attempted.length > 0) {
        this.#lastTopUp = { at: Date.now(), attempted: result.attempted.length, connected: result.connected.length }
      }
    }
  }

  readonly #onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols } = event.detail
    const { membership, mesh } = membershipOf(protocols, this.#init.mesh)
    if (membership === 'member') {
      this.#libp2p.peerStore
        .merge(peerId, { tags: { [TAG_MEMBER]: { value: TAG_VALUE_MEMBER } } })
        .catch((err: unknown) => log.error('cannot tag %s: %s', peerId.toString(), errorMessage(err)))
    } else if (membership === 'foreign' && this.#init.isolate) {
      log('disconnecting %s: a peer of mesh "%s" (mesh.isolate)', peerId.toString(), mesh)
      this.#foreignDisconnected++
      this.#libp2p.hangUp(peerId).catch(() => {})
    }
  }
}
