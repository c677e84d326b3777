import { randomBytes } from 'node:crypto'
import type { Libp2p } from '@libp2p/interface'
import type { MeshServices } from '../interface/libp2p.js'
import { errorMessage } from '../util/errors.js'
import type { BootstrapKeeper, BootstrapPeerStatus } from './bootstrap-keeper.js'
import { DEFAULT_DISCOVER_TIMEOUT_MS, MDNS_QUERY_WINDOW_MS } from './constants.js'
import type { KnownPeers } from './known-peers.js'
import type { MdnsDialer, MdnsQueryReport } from './mdns.js'
import type { MeshLookupResult, MeshNameJoin } from './mesh-name.js'
import { routingTableSize } from './reachability.js'

const EMPTY_ROUTING_TABLE = 'the DHT routing table is empty: no peer to ask (connect to a peer first)'

export const DISCOVERY_METHODS = ['bootstrap', 'known', 'mdns', 'dht', 'mesh'] as const
export type DiscoveryMethod = (typeof DISCOVERY_METHODS)[number]

export interface DiscoverOptions {
  /** Default: all of DISCOVERY_METHODS. */
  methods?: readonly DiscoveryMethod[]
  /** Bound on the whole run (default DEFAULT_DISCOVER_TIMEOUT_MS). */
  timeoutMs?: number
  signal?: AbortSignal
}

export interface DiscoverReport {
  durationMs: number
  connectedBefore: number
  connectedAfter: number
  bootstrap?: { peers: number; connected: number; states: BootstrapPeerStatus[] }
  known?: { attempted: string[]; connected: string[]; errors: Record<string, string> }
  mdns?: MdnsQueryReport
  dht?: { routingTableBefore: number; routingTableAfter: number; found: string[]; error?: string }
  mesh?: (Omit<MeshLookupResult, 'errors'> & { errors: Record<string, string>; cid?: string }) | { error: string }
}

/** The running parts a discovery run asks. */
export interface DiscoverParts {
  libp2p: Libp2p<MeshServices>
  bootstrap: BootstrapKeeper
  known: KnownPeers
  meshName: MeshNameJoin
  mdns: MdnsDialer
}

/** Runs the chosen discovery methods now, in parallel, and reports what each found. */
export async function discoverNow(parts: DiscoverParts, options: DiscoverOptions = {}): Promise<DiscoverReport> {
  const { libp2p } = parts
  const methods = new Set(options.methods ?? DISCOVERY_METHODS)
  const timeoutMs = options.timeoutMs ?? DEFAULT_DISCOVER_TIMEOUT_MS
  const signals = [AbortSignal.timeout(timeoutMs)]
  if (options.signal != null) signals.push(options.signal)
  const signal = AbortSignal.any(signals)
  const started = Date.now()
  const peersNow = (): number => new Set(libp2p.getConnections().map((c) => c.remotePeer.toString())).size
  const report: DiscoverReport = { durationMs: 0, connectedBefore: peersNow(), connectedAfter: 0 }
  const jobs: Array<Promise<void>> = []
  if (methods.has('bootstrap')) {
    jobs.push(
      (async () => {
        const states = await parts.bootstrap.redialNow(signal)
        report.bootstrap = {
          peers: states.length,
          connected: states.filter((s) => s.state === 'connected').length,
          states
        }
      })()
    )
  }
  if (methods.has('known')) {
    jobs.push(
      (async () => {
        report.known = await parts.known.redial({ force: true, signal })
      })()
    )
  }
  if (methods.has('mdns')) {
    jobs.push(
      (async () => {
        report.mdns = await parts.mdns.query(Math.min(timeoutMs, MDNS_QUERY_WINDOW_MS), signal)
      })()
    )
  }
  if (methods.has('dht')) {
    jobs.push(
      (async () => {
        report.dht = await discoverDht(libp2p, signal)
      })()
    )
  }
  if (methods.has('mesh')) {
    jobs.push(
      (async () => {
        report.mesh = await lookupMesh(libp2p, parts.meshName, signal)
      })()
    )
  }
  await Promise.all(jobs)
  report.durationMs = Date.now() - started
  report.connectedAfter = peersNow()
  return report
}

async function lookupMesh(
  libp2p: Libp2p<MeshServices>,
  meshName: MeshNameJoin,
  signal: AbortSignal
): Promise<NonNullable<DiscoverReport['mesh']>> {
  if (routingTableSize(libp2p.services.dht) === 0) return { error: EMPTY_ROUTING_TABLE }
  try {
    const result = await meshName.lookup({ signal })
    return { ...result, cid: meshName.status().cid }
  } catch (err) {
    return { error: errorMessage(err) }
  }
}

/** A self lookup (our neighbourhood) and a random walk step (a random key). */
async function discoverDht(
  libp2p: Libp2p<MeshServices>,
  signal: AbortSignal
): Promise<NonNullable<DiscoverReport['dht']>> {
  const dht = libp2p.services.dht
  const before = routingTableSize(dht)
  if (before === 0) return { routingTableBefore: 0, routingTableAfter: 0, found: [], error: EMPTY_ROUTING_TABLE }
  const found = new Set<string>()
  let error: string | undefined
  const keys = [libp2p.peerId.toMultihash().bytes, new Uint8Array(randomBytes(32))]
  await Promise.all(
    keys.map(async (key) => {
      try {
        for await (const event of dht.getClosestPeers(key, { signal })) {
          if (event.name === 'FINAL_PEER' && !event.peer.id.equals(libp2p.peerId)) {
            found.add(event.peer.id.toString())
          }
        }
      } catch (err) {
        if (!signal.aborted) error = errorMessage(err)
      }
    })
  )
  const report: NonNullable<DiscoverReport['dht']> = {
    routingTableBefore: before,
    routingTableAfter: routingTableSize(dht),
    found: [...found]
  }
  if (error != null) report.error = error
  return report
}
