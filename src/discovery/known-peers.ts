import type { IdentifyResult, Libp2p, PeerId } from '@libp2p/interface'
import { errorMessage } from '../util/errors.js'
import { tryParsePeerId } from '../util/peer-id.js'
import { meshLogger } from '../util/logger.js'
import { type BackoffInit, backoffDelay } from './backoff.js'
import { DIAL_CONCURRENCY, MAX_KNOWN_PEERS, META_LAST_SEEN, TAG_KNOWN, TAG_VALUE_KNOWN } from './constants.js'
import { membershipOf } from './membership.js'
import { decodeTime, encodeTime } from './peer-details.js'

const log = meshLogger('discovery:known-peers')

const LIST_CACHE_MS = 30_000

export interface KnownPeersInit {
  mesh: string
  enabled: boolean
  /** How many of the most recently seen members to re-dial on start. */
  redial: number
  forgetAfterMs: number
  dialTimeoutMs: number
  backoff: BackoffInit
  /**
   * The trust gate's admission (trust.allowPeers): only peers it admits are
   * stored or re-dialled. Absent: every member is.
   */
  admits?: (peerId: string) => boolean
  /** Members stored at most (default MAX_KNOWN_PEERS); the least recently seen goes first. */
  maxStored?: number
}

export interface KnownPeer {
  peerId: PeerId
  lastSeen: number
  addresses: number
}

export interface KnownPeersStatus {
  enabled: boolean
  /** Members recorded in the peer store (they survive restarts). */
  stored: number
  lastRedial?: { at: number; attempted: number; connected: number; errors: number }
}

/**
 * The last good peers, kept in the persistent peer store (LevelDB under
 * `<home>/datastore`): every mesh member this node was connected to gets a tag
 * and a last-seen time. On start the node re-dials the most recently seen
 * ones, so it rejoins its mesh even with an empty bootstrap list; peers that
 * fail are retried with backoff by `redialDue`.
 *
 * Only a peer that proved membership is stored: it identified with our
 * mesh's member protocol over an open connection (whose encryption proved
 * its peer ID; with a swarm key, the connection itself proves the mesh),
 * and the trust gate admits it (trust.allowPeers). The store is capped
 * (`maxStored`): a new member evicts the least recently seen one, so a
 * flood of identities cannot grow it, and every map kept here is keyed
 * by stored peers only.
 */
export class KnownPeers {
  readonly #libp2p: Libp2p
  readonly #init: KnownPeersInit
  readonly #failures = new Map<string, { count: number; nextAt: number }>()
  #lastRedial?: KnownPeersStatus['lastRedial']
  /** Stored members and when each was last seen (mirrors the peer store's tagged peers). */
  readonly #stored = new Map<string, number>()
  readonly #maxStored: number
  #started = false
  /** Peer-store scans are cached briefly: the upkeep timer may ask every 10 s. */
  #cache?: { at: number; peers: KnownPeer[] }

  constructor(libp2p: Libp2p, init: KnownPeersInit) {
    this.#libp2p = libp2p
    this.#init = init
    this.#maxStored = Math.max(1, init.maxStored ?? MAX_KNOWN_PEERS)
  }

  start(): void {
    if (this.#started || !this.#init.enabled) return
    this.#started = true
    this.#libp2p.addEventListener('peer:identify', this.#onIdentify)
    this.#libp2p.addEventListener('peer:disconnect', this.#onDisconnect)
  }

  /**
   * Records every member still connected as seen now, before the connections
   * go: they are the last good peers the next start re-dials first.
   */
  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#libp2p.removeEventListener('peer:identify', this.#onIdentify)
    this.#libp2p.removeEventListener('peer:disconnect', this.#onDisconnect)
    const connected = new Map(this.#libp2p.getConnections().map((c) => [c.remotePeer.toString(), c.remotePeer]))
    await Promise.all(
      [...connected]
        .filter(([id]) => this.#stored.has(id))
        .map(async ([, peerId]) => this.#touch(peerId).catch(() => {}))
    )
  }

  status(): KnownPeersStatus {
    const status: KnownPeersStatus = { enabled: this.#init.enabled, stored: this.#stored.size }
    if (this.#lastRedial != null) status.lastRedial = { ...this.#lastRedial }
    return status
  }

  /** Stored members, most recently seen first; forgets those not seen for `forgetAfterMs`. */
  async list(options: { signal?: AbortSignal } = {}): Promise<KnownPeer[]> {
    const now = Date.now()
    const peers = await this.#libp2p.peerStore.all({
      filters: [(peer) => peer.tags.has(TAG_KNOWN)],
      signal: options.signal
    })
    const known: KnownPeer[] = []
    for (const peer of peers) {
      if (peer.id.equals(this.#libp2p.peerId)) continue
      // Stored before trust.allowPeers excluded it (or by an older version): forgotten.
      if (!this.#admitted(peer.id.toString())) {
        await this.#forget(peer.id)
        continue
      }
      // A tagged peer can lack its last-seen time: identify rewrites the
      // metadata it read before our merge landed. Such a peer was seen by
      // this run, so it is kept (ordered last) rather than forgotten.
      const lastSeen = decodeTime(peer.metadata.get(META_LAST_SEEN))
      if (lastSeen != null && now - lastSeen > this.#init.forgetAfterMs) {
        await this.#forget(peer.id)
        continue
      }
      known.push({ peerId: peer.id, lastSeen: lastSeen ?? 0, addresses: peer.addresses.length })
    }
    known.sort((a, b) => b.lastSeen - a.lastSeen)
    // Over the cap (a store written before it): the least recently seen go.
    for (const peer of known.splice(this.#maxStored)) await this.#forget(peer.peerId)
    this.#stored.clear()
    for (const peer of known) this.#stored.set(peer.peerId.toString(), peer.lastSeen)
    this.#cache = { at: Date.now(), peers: known }
    return known
  }

  /**
   * Dials up to `limit` known peers that are not connected and whose backoff
   * has expired (all of them with `force`). Returns what happened.
   */
  async redial(
    options: { limit?: number; force?: boolean; signal?: AbortSignal } = {}
  ): Promise<{ attempted: string[]; connected: string[]; errors: Record<string, string> }> {
    const now = Date.now()
    const fresh = this.#cache != null && now - this.#cache.at < LIST_CACHE_MS && options.force !== true
    const known = fresh ? this.#cache!.peers : await this.list(options)
    const candidates = known
      .filter((peer) => peer.addresses > 0 && this.#libp2p.getConnections(peer.peerId).length === 0)
      .filter((peer) => options.force === true || (this.#failures.get(peer.peerId.toString())?.nextAt ?? 0) <= now)
      .slice(0, options.limit ?? this.#init.redial)
    const attempted = candidates.map((peer) => peer.peerId.toString())
    const connected: string[] = []
    const errors: Record<string, string> = {}
    const queue = [...candidates]
    const worker = async (): Promise<void> => {
      for (let peer = queue.shift(); peer != null; peer = queue.shift()) {
        const id = peer.peerId.toString()
        try {
          const signals = [AbortSignal.timeout(this.#init.dialTimeoutMs)]
          if (options.signal != null) signals.push(options.signal)
          await this.#libp2p.dial(peer.peerId, { signal: AbortSignal.any(signals) })
          connected.push(id)
          this.#failures.delete(id)
        } catch (err) {
          errors[id] = errorMessage(err)
          const count = (this.#failures.get(id)?.count ?? 0) + 1
          this.#failures.set(id, { count, nextAt: Date.now() + backoffDelay(count, this.#init.backoff) })
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(DIAL_CONCURRENCY, queue.length) }, worker))
    if (attempted.length > 0) {
      log('re-dialled %d known peers, %d connected', attempted.length, connected.length)
      this.#lastRedial = {
        at: Date.now(),
        attempted: attempted.length,
        connected: connected.length,
        errors: Object.keys(errors).length
      }
    }
    return { attempted, connected, errors }
  }

  #admitted(peerId: string): boolean {
    return this.#init.admits?.(peerId) ?? true
  }

  /** Removes a peer from the store (its tag and last-seen time; libp2p keeps the rest as for any peer). */
  async #forget(peerId: PeerId): Promise<void> {
    const id = peerId.toString()
    this.#stored.delete(id)
    this.#failures.delete(id)
    await this.#libp2p.peerStore
      .merge(peerId, { tags: { [TAG_KNOWN]: undefined }, metadata: { [META_LAST_SEEN]: undefined } })
      .catch(() => {})
  }

  async #touch(peerId: PeerId): Promise<void> {
    const id = peerId.toString()
    if (!this.#stored.has(id) && this.#stored.size >= this.#maxStored) {
      // Full: the least recently seen member makes room.
      let oldest: string | undefined
      let oldestSeen = Number.POSITIVE_INFINITY
      for (const [stored, seen] of this.#stored)
        if (seen < oldestSeen) {
          oldest = stored
          oldestSeen = seen
        }
      if (oldest != null) {
        this.#stored.delete(oldest)
        const evicted = tryParsePeerId(oldest)
        if (evicted != null) void this.#forget(evicted)
      }
    }
    // Counted at once, so concurrent touches never take the store over its cap.
    this.#stored.set(id, Date.now())
    await this.#libp2p.peerStore.merge(peerId, {
      tags: { [TAG_KNOWN]: { value: TAG_VALUE_KNOWN } },
      metadata: { [META_LAST_SEEN]: encodeTime(Date.now()) }
    })
  }

  readonly #onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols, connection } = event.detail
    if (membershipOf(protocols, this.#init.mesh).membership !== 'member') return
    // Proved over a connection that is still open, to the peer it authenticated.
    if (connection.status !== 'open' || !connection.remotePeer.equals(peerId)) return
    if (!this.#admitted(peerId.toString())) {
      log('not storing %s: the trust gate does not admit it', peerId.toString())
      return
    }
    this.#failures.delete(peerId.toString())
    this.#touch(peerId).catch((err: unknown) => log.error('cannot record %s: %s', peerId.toString(), errorMessage(err)))
  }

  readonly #onDisconnect = (event: CustomEvent<PeerId>): void => {
    const peerId = event.detail
    void this.#libp2p.peerStore
      .get(peerId)
      .then(async (peer) => {
        if (peer.tags.has(TAG_KNOWN) && this.#admitted(peerId.toString())) await this.#touch(peerId)
      })
      .catch(() => {})
  }
}
