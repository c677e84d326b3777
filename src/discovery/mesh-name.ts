import type { Libp2p, PeerId } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import {
  DIAL_CONCURRENCY,
  MESH_MAX_DIALS_PER_LOOKUP,
  MESH_QUERY_TIMEOUT_MS,
  MESH_LOOKUP_MAX_INTERVAL_MS,
  MESH_REPROVIDE_INTERVAL_MS,
  meshNameKey
} from './constants.js'
import { membershipOf } from './membership.js'
import { routingTableSize } from './reachability.js'

const log = meshLogger('discovery:mesh-name')

/** The CID whose DHT providers are the members of `mesh`: CIDv1, raw, sha256 of `mcp-mesh:mesh:<name>`. */
export async function meshNameCid(mesh: string): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(meshNameKey(mesh))))
}

export interface MeshLookupResult {
  /** Providers of our mesh record (excluding us). */
  providers: string[]
  /** Providers we were not connected to and dialled. */
  dialed: string[]
  connected: string[]
  /** Providers that identified as members of another mesh (a forged or stale record): ignored. */
  foreign: string[]
  errors: Record<string, string>
  durationMs: number
}

export interface MeshNameStatus {
  enabled: boolean
  mesh: string
  cid?: string
  provided: boolean
  lastProvideAt?: number
  lastProvideError?: string
  lastLookupAt?: number
  lastLookup?: Omit<MeshLookupResult, 'errors'> & { errors: number }
  lastLookupError?: string
}

export interface MeshNameJoinInit {
  mesh: string
  enabled: boolean
  lookupIntervalMs: number
  dialTimeoutMs: number
  /** Dial found members only while fewer peers than this are connected. */
  targetPeers: number
}

/**
 * Join by name: every member provides the mesh's DHT record, and looks up the
 * other providers and connects to them, once its routing table has a peer and
 * then every `lookupIntervalMs`. Only members announce the member protocol,
 * so a provider that identifies as another mesh's node is dropped.
 */
export class MeshNameJoin {
  readonly #libp2p: Libp2p<{ dht: KadDHT }>
  readonly #init: MeshNameJoinInit
  #cid?: CID
  #controller?: AbortController
  #loop?: Promise<void>
  #wake?: () => void
  readonly #status: MeshNameStatus

  constructor(libp2p: Libp2p<{ dht: KadDHT }>, init: MeshNameJoinInit) {
    this.#libp2p = libp2p
    this.#init = init
    this.#status = { enabled: init.enabled, mesh: init.mesh, provided: false }
  }

  async start(): Promise<void> {
    if (this.#controller != null || !this.#init.enabled) return
    this.#cid = await meshNameCid(this.#init.mesh)
    this.#status.cid = this.#cid.toString()
    this.#controller = new AbortController()
    this.#loop = this.#run(this.#controller.signal)
  }

  async stop(): Promise<void> {
    if (this.#controller == null) return
    this.#controller.abort()
    this.#wake?.()
    await this.#loop
    this.#controller = undefined
    this.#loop = undefined
  }

  status(): MeshNameStatus {
    return { ...this.#status }
  }

  /** Provides our record (when not yet done) and looks up the mesh's members now. */
  async lookup(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<MeshLookupResult> {
    const cid = this.#cid ?? (await meshNameCid(this.#init.mesh))
    const started = Date.now()
    const signals = [AbortSignal.timeout(options.timeoutMs ?? MESH_QUERY_TIMEOUT_MS)]
    if (options.signal != null) signals.push(options.signal)
    if (this.#controller != null) signals.push(this.#controller.signal)
    const signal = AbortSignal.any(signals)
    const self = this.#libp2p.peerId
    const providers: PeerId[] = []
    try {
      for await (const provider of this.#libp2p.contentRouting.findProviders(cid, { signal })) {
        if (provider.id.equals(self) || providers.some((p) => p.equals(provider.id))) continue
        providers.push(provider.id)
      }
    } catch (err) {
      // A timeout ends the lookup with what it found so far.
      if (providers.length === 0 && !(signal.aborted && options.signal?.aborted !== true)) throw err
    }
    const dialed: string[] = []
    const connected: string[] = []
    const foreign: string[] = []
    const errors: Record<string, string> = {}
    // A big mesh needs no full graph (gossip and the DHT reach the rest): top up to targetPeers.
    const room = Math.max(0, this.#init.targetPeers - this.#libp2p.getPeers().length)
    const queue = providers
      .filter((peer) => this.#libp2p.getConnections(peer).length === 0)
      .slice(0, Math.min(MESH_MAX_DIALS_PER_LOOKUP, room))
    const worker = async (): Promise<void> => {
      for (let peer = queue.shift(); peer != null; peer = queue.shift()) {
        const id = peer.toString()
        dialed.push(id)
        try {
          const dialSignals = [AbortSignal.timeout(this.#init.dialTimeoutMs)]
          if (options.signal != null) dialSignals.push(options.signal)
          await this.#libp2p.dial(peer, { signal: AbortSignal.any(dialSignals) })
          connected.push(id)
        } catch (err) {
          errors[id] = errorMessage(err)
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(DIAL_CONCURRENCY, queue.length) }, worker))
    for (const peer of providers) {
      const record = await this.#libp2p.peerStore.get(peer).catch(() => undefined)
      if (record != null && membershipOf(record.protocols, this.#init.mesh).membership === 'foreign') {
        foreign.push(peer.toString())
      }
    }
    const result: MeshLookupResult = {
      providers: providers.map(String),
      dialed,
      connected,
      foreign,
      errors,
      durationMs: Date.now() - started
    }
    this.#status.lastLookupAt = Date.now()
    this.#status.lastLookup = { ...result, errors: Object.keys(errors).length }
    delete this.#status.lastLookupError
    return result
  }

  async provide(options: { signal?: AbortSignal } = {}): Promise<void> {
    const cid = this.#cid ?? (await meshNameCid(this.#init.mesh))
    const signals = [AbortSignal.timeout(MESH_QUERY_TIMEOUT_MS)]
    if (options.signal != null) signals.push(options.signal)
    try {
      await this.#libp2p.contentRouting.provide(cid, { signal: AbortSignal.any(signals) })
      this.#status.provided = true
      this.#status.lastProvideAt = Date.now()
      delete this.#status.lastProvideError
    } catch (err) {
      this.#status.lastProvideError = errorMessage(err)
      throw err
    }
  }

  async #sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      timer.unref?.()
      function done(): void {
        clearTimeout(timer)
        resolve()
      }
      this.#wake = done
    })
    this.#wake = undefined
  }

  async #run(signal: AbortSignal): Promise<void> {
    // The DHT can only answer once its routing table has a peer.
    while (!signal.aborted && routingTableSize(this.#libp2p.services.dht) === 0) await this.#sleep(100, signal)
    let lastProvide = 0
    let interval = this.#init.lookupIntervalMs
    while (!signal.aborted) {
      if (Date.now() - lastProvide >= MESH_REPROVIDE_INTERVAL_MS) {
        // Provide in the background: a slow provide must not delay the lookup.
        lastProvide = Date.now()
        this.provide({ signal }).catch((err: unknown) => {
          if (!signal.aborted) log('providing the mesh record failed: %s', errorMessage(err))
        })
      }
      try {
        const result = await this.lookup({ signal })
        log(
          'mesh "%s": %d providers, %d newly connected',
          this.#init.mesh,
          result.providers.length,
          result.connected.length
        )
        // Nothing new to dial (all providers connected, or enough peers): look again less often.
        const settled = result.dialed.length === 0
        interval = settled
          ? Math.min(interval * 2, Math.max(this.#init.lookupIntervalMs, MESH_LOOKUP_MAX_INTERVAL_MS))
          : this.#init.lookupIntervalMs
      } catch (err) {
        if (signal.aborted) break
        interval = this.#init.lookupIntervalMs
        this.#status.lastLookupAt = Date.now()
        this.#status.lastLookupError = errorMessage(err)
        log('mesh lookup failed: %s', this.#status.lastLookupError)
      }
      await this.#sleep(interval, signal)
    }
  }
}
