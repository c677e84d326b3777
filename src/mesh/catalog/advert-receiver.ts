import type { Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { errorMessage } from '../../util/errors.js'
import { meshLogger } from '../../util/logger.js'
import { type CatalogAdvert, decodeAdvert } from '../advert.js'
import {
  ADVERT_MAX_AGE_SLACK_MS,
  ADVERT_MAX_CLOCK_SKEW_MS,
  FIRST_CONTACT_BURST,
  FIRST_CONTACT_REFILL_MS,
  MAX_ADVERT_BYTES,
  MAX_CATALOG_PEERS
} from '../constants.js'
import { MAX_RECORD_TTL_MS } from './constants.js'
import type { DescriptorStore } from './descriptors.js'
import type { PeerTable } from './peers.js'
import { isDescribedFromRecord } from './provider-policy.js'
import type { RecordStore, SignedMessage } from './records.js'
import type { CatalogGate, CatalogStats, CatalogTool, ChangeReporter } from './types.js'

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
  /** Whether we hold a connection to the peer (its addresses then need no dial of ours). */
  connected?: (peerId: string) => boolean
  gate: CatalogGate
  /**
   * The legacy advert interval: a record without an expiry (a legacy advert)
   * older than 2 intervals + ADVERT_MAX_AGE_SLACK_MS is stale.
   */
  advertIntervalMs: number
  /** How long a legacy advert keeps its sender listed (the old silence TTL); default the legacy window. */
  legacyTtlMs?: number
  /** Signed records kept for anti-entropy (own and others'); absent in unit tests that need none. */
  records?: RecordStore
  /** Peers listed at most (default MAX_CATALOG_PEERS). */
  maxPeers?: number
  /** The clock (tests). */
  now?: () => number
}

/**
 * First contacts with peers known only from a gossiped record: their
 * addresses are the signer's own claims, and anyone can mint signers, so
 * each such dial is an outbound connection to a host and port of a
 * stranger's choice. They are budgeted node-wide (a token bucket), so one
 * gossip flood cannot make every node of the mesh scan a host; beyond the
 * budget the addresses are not used (the peer is reached once connected,
 * by anti-entropy, or through the DHT).
 */
export class FirstContactBudget {
  readonly #capacity: number
  readonly #refillMs: number
  readonly #now: () => number
  #tokens: number
  #last: number

  constructor(capacity = FIRST_CONTACT_BURST, refillMs = FIRST_CONTACT_REFILL_MS, now: () => number = Date.now) {
    this.#capacity = capacity
    this.#refillMs = refillMs
    this.#now = now
    this.#tokens = capacity
    this.#last = now()
  }

  take(): boolean {
    const now = this.#now()
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#last) / this.#refillMs)
    this.#last = now
    if (this.#tokens < 1) return false
    this.#tokens--
    return true
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/** Why an advert that is well-formed is still not taken, or undefined when it is taken. */
type Refusal = { result: TopicValidatorResult; reason: string; stale?: boolean; replay?: boolean } | undefined

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
 * Takes peers' signed catalog records from the catalog topic (and from
 * anti-entropy, which hands on the same signed messages). gossipsub's
 * StrictSign envelope is the record's signature: the validator accepts only
 * signed, well-formed records of our mesh that name their signer, so bad
 * records are neither listed nor relayed.
 *
 * Verdicts: a malformed, unsigned, oversized, mis-signed or foreign-mesh
 * record is `Reject`ed (gossipsub then scores down the peer that relayed it)
 * and counted in the gate as a `gossip-catalog` denial. A well-formed record
 * that is expired (past its `exp`; a legacy advert without one: older than 2
 * legacy intervals + 30 s), claims an expiry more than 48 h past its
 * signing, is dated more than 30 s ahead, or is replayed (its sequence number
 * not above the last one accepted from its signer, remembered beyond the
 * peer's catalog entry) is `Ignore`d: not listed, not relayed, not
 * penalised, because an honest peer may relay a message that went stale in
 * transit or was signed on a skewed clock. Validity comes from the expiry,
 * replay protection from the sequence number: a replay never refreshes an
 * entry. Records of peers the gate does not admit (trust.allowPeers) are
 * ignored; peers the gate may not send to (trust.sendTo) are relayed but not
 * listed. A leave record withdraws the signer's tools at once.
 */
export class AdvertReceiver {
  readonly #init: AdvertReceiverInit
  /** The last sequence number accepted per signer, kept after its catalog entry expires. */
  readonly #lastSeq = new Map<string, { seq: number; exp: number }>()
  readonly #maxAgeMs: number
  readonly #legacyTtlMs: number
  readonly #now: () => number
  readonly #firstContacts: FirstContactBudget
  /**
   * Records the validator accepted, decoded, until `receive` takes them:
   * gossipsub hands `receive` the message object it validated (and
   * anti-entropy's `accept` does the same), so a record is decoded once.
   */
  readonly #accepted = new WeakMap<Message, CatalogAdvert>()

  constructor(init: AdvertReceiverInit) {
    this.#init = init
    this.#firstContacts = new FirstContactBudget(FIRST_CONTACT_BURST, FIRST_CONTACT_REFILL_MS, init.now ?? Date.now)
    this.#maxAgeMs = 2 * init.advertIntervalMs + ADVERT_MAX_AGE_SLACK_MS
    this.#legacyTtlMs = Math.min(init.legacyTtlMs ?? this.#maxAgeMs, this.#maxAgeMs)
    this.#now = init.now ?? Date.now
  }

  /** Until when a record is valid: its expiry, or the legacy window after it was signed. */
  #expiry(advert: CatalogAdvert): number {
    return advert.exp ?? advert.ts + this.#maxAgeMs
  }

  /** The topic validator: runs before gossipsub relays a message. */
  validate(peer: PeerId, message: Message): TopicValidatorResult {
    return this.#judge(peer, message, true)
  }

  /**
   * `gossip`: the message came over gossipsub, and an Accept relays it.
   * Records handed on by anti-entropy are judged the same way but never
   * relayed (gossipsub cannot forward a message it did not receive).
   */
  #judge(peer: PeerId, message: Message, gossip: boolean): TopicValidatorResult {
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
    const refusal = this.#refusal(advert, true)
    if (refusal != null && !(gossip && refusal.replay === true && this.#firstGossipCopy(advert, message))) {
      this.#init.stats.advertsIgnored++
      log('ignored catalog advert of %s relayed by %p: %s', advert.peerId, peer, refusal.reason)
      return refusal.result
    }
    this.#accepted.set(message, advert)
    return TopicValidatorResult.Accept
  }

  /**
   * Whether `message` is the first gossip copy of a record this node took
   * through anti-entropy (a join sync usually reaches a newcomer's contact
   * before the newcomer's own gossip publish does). Anti-entropy does not
   * relay, so ignoring this copy as a replay would stop the record at this
   * node: a newcomer whose only connection is its contact would then reach
   * the rest of the mesh only through later anti-entropy rounds (measured:
   * a third of the records missing after a 50-node mesh formed). The copy
   * is relayed once: same record (sequence number and bytes), a gossip
   * sequence number not older than the held one; the record is then marked
   * relayed, so a replayed copy is ignored as before. Nothing is listed
   * again (`receive` skips it).
   */
  #firstGossipCopy(advert: CatalogAdvert, message: Message & { type: 'signed' }): boolean {
    const held = this.#init.records?.get(advert.peerId)
    if (held == null || held.relayed !== false || held.seq !== advert.seq) return false
    if (message.sequenceNumber < held.message.sequenceNumber) return false
    if (!equalBytes(held.message.data, message.data)) return false
    held.relayed = true
    this.#init.stats.recordsRelayedAfterSync++
    return true
  }

  /**
   * Why a well-formed advert of our mesh is not taken: its signer is not
   * admitted, it is stale, future-dated or replayed, or the catalog is full.
   * `count` counts it (once per advert: the validator counts, receive does not).
   */
  #refusal(advert: CatalogAdvert, count: boolean): Refusal {
    const { gate, stats, peers } = this.#init
    const admitted = count ? gate.checkPeer('gossip-catalog', advert.peerId) : gate.admits(advert.peerId)
    if (!admitted.allowed) return { result: TopicValidatorResult.Ignore, reason: admitted.reason }
    const now = this.#now()
    let reason: string | undefined
    let replay = false
    if (this.#expiry(advert) < now) reason = `stale advert (${now - advert.ts} ms old, expired)`
    else if (advert.exp != null && advert.exp - advert.ts > MAX_RECORD_TTL_MS)
      reason = `advert valid ${advert.exp - advert.ts} ms (at most ${MAX_RECORD_TTL_MS})`
    else if (advert.ts > now + ADVERT_MAX_CLOCK_SKEW_MS) reason = `advert dated ${advert.ts - now} ms ahead`
    else {
      const last = this.#lastSeq.get(advert.peerId)
      if (last != null && advert.seq <= last.seq) {
        reason = `replayed advert (seq ${advert.seq} <= ${last.seq})`
        replay = true
      }
    }
    if (reason != null) {
      if (count) stats.advertsStale++
      return { result: TopicValidatorResult.Ignore, reason, stale: true, replay }
    }
    if (
      advert.leave !== true &&
      !peers.has(advert.peerId) &&
      peers.size >= (this.#init.maxPeers ?? MAX_CATALOG_PEERS)
    ) {
      if (count) {
        stats.catalogFull++
        gate.refused('gossip-catalog', 'busy', advert.peerId, 'the catalog is full')
      }
      return { result: TopicValidatorResult.Ignore, reason: 'the catalog is full' }
    }
    return undefined
  }

  /** Remembers the signer's last accepted sequence number, bounded (stale entries go first). */
  #remember(advert: CatalogAdvert): void {
    this.#lastSeq.delete(advert.peerId)
    this.#lastSeq.set(advert.peerId, { seq: advert.seq, exp: this.#expiry(advert) })
    const bound = 2 * (this.#init.maxPeers ?? MAX_CATALOG_PEERS)
    if (this.#lastSeq.size <= bound) return
    // An entry past its record's expiry guards nothing: any replay of it is stale anyway.
    const now = this.#now()
    for (const [peerId, last] of this.#lastSeq) {
      if (this.#lastSeq.size <= bound) break
      if (last.exp < now) this.#lastSeq.delete(peerId)
    }
    while (this.#lastSeq.size > bound) {
      const oldest = this.#lastSeq.keys().next().value
      if (oldest == null) break
      this.#lastSeq.delete(oldest)
    }
  }

  /**
   * Lists the sender with its tools; descriptors not known yet are fetched
   * (the tool is listed once they are). `gossip` false: handed on by
   * anti-entropy (not relayed by this node).
   */
  receive(message: Message, gossip = true): void {
    const { peers, descriptors, stats } = this.#init
    if (message.topic !== this.#init.topic) return
    // Decoded by the validator; our own records (emitSelf skips validation) are decoded here.
    let advert = this.#accepted.get(message)
    if (advert != null) this.#accepted.delete(message)
    else {
      try {
        advert = decodeAdvert(message.data)
      } catch {
        return
      }
    }
    if (advert.peerId === this.#init.self) {
      // Our own record (gossipsub's emitSelf): kept so anti-entropy can hand it on, signature and all.
      if (message.type === 'signed')
        this.#init.records?.put({
          peerId: advert.peerId,
          seq: advert.seq,
          exp: this.#expiry(advert),
          leave: advert.leave === true,
          message
        })
      return
    }
    stats.advertsReceived++
    const previous = peers.get(advert.peerId)
    if (previous != null && previous.source === 'gossip' && advert.seq <= previous.seq) return
    // The validator already judged (and counted) it; checked again for adverts that reach us otherwise.
    if (this.#refusal(advert, false) != null) return
    this.#remember(advert)
    if (message.type === 'signed') {
      this.#init.records?.put({
        peerId: advert.peerId,
        seq: advert.seq,
        exp: this.#expiry(advert),
        leave: advert.leave === true,
        message: message as SignedMessage,
        relayed: gossip
      })
    }
    if (advert.leave === true) {
      stats.leavesReceived++
      peers.remove(advert.peerId, 'left')
      return
    }
    // trust.sendTo: a peer we may not send to is neither listed nor asked for descriptors.
    if (!this.#init.gate.maySendTo(advert.peerId)) return
    const tools = new Map<string, CatalogTool>()
    let missing = false
    for (const tool of advert.tools) {
      const old = previous?.tools.get(tool.name)
      // The peer's own listing is kept while its schemas stay; one built from its record follows the new record.
      const kept = old?.advert.schemaHash === tool.schemaHash ? old.descriptor : undefined
      const descriptor =
        (kept != null && !isDescribedFromRecord(kept) ? kept : undefined) ?? descriptors.cached(tool) ?? kept
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
      load: advert.load ?? { inFlight: 0, queued: 0 },
      worker: advert.worker,
      tools,
      latencyMs: previous?.latencyMs,
      disconnectedAt: previous?.disconnectedAt,
      // A legacy advert (no expiry) keeps its sender listed for the old silence TTL only.
      expiresAt: advert.exp ?? Date.now() + this.#legacyTtlMs
    })
    if (previous == null) log('advert from new peer %s (%d tools)', advert.peerId, advert.tools.length)
    if (missing) {
      // Addresses first, so the fetch dials at once instead of looking the peer up in the DHT;
      // for a peer we are not connected to, only within the first-contact budget.
      const firstContact = previous == null && this.#init.connected?.(advert.peerId) !== true
      const addrs = previous == null && (!firstContact || this.#firstContacts.take()) ? dialableAddrs(advert.addrs) : []
      if (firstContact && addrs.length === 0 && (advert.addrs?.length ?? 0) > 0)
        this.#init.stats.firstContactsDeferred++
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

  /**
   * A signed record handed on by `from` through anti-entropy (its signature
   * already checked): judged and taken exactly as if it came over gossip.
   */
  accept(from: PeerId, message: SignedMessage): TopicValidatorResult {
    const verdict = this.#judge(from, message, false)
    if (verdict === TopicValidatorResult.Accept) this.receive(message, false)
    return verdict
  }

  #reject(peer: PeerId, reason: string): TopicValidatorResult {
    this.#init.stats.advertsRejected++
    this.#init.gate.refused('gossip-catalog', 'denied', peer.toString(), reason)
    log('rejected catalog advert relayed by %p: %s', peer, reason)
    return TopicValidatorResult.Reject
  }
}
