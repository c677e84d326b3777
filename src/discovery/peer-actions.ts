import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import type { MeshServices } from '../interface/libp2p.js'
import { errorMessage } from '../util/errors.js'
import { parsePeerId } from '../util/peer-id.js'
import { parseDialTarget } from './address.js'
import { CONNECT_PING_ATTEMPTS } from './constants.js'
import { PeerDialError, PeerNotConnectedError, UnknownPeerError } from './errors.js'
import { type ConnectionDescription, describeConnections, describePeer, type PeerDetails } from './peer-details.js'

export interface ConnectResult {
  peer: string
  /** The peer was connected before: libp2p reuses an open connection whatever address was given. */
  alreadyConnected: boolean
  address?: string
  relayed: boolean
  connections: ConnectionDescription[]
  latencyMs?: number
  durationMs: number
}

export interface ConnectOptions {
  signal?: AbortSignal
  /** Default: `connections.dialTimeoutMs`. */
  timeoutMs?: number
}

export interface DisconnectResult {
  peer: string
  closed: number
}

export interface PeerInfoOptions {
  ping?: boolean
  signal?: AbortSignal
}

/** Everything known about `peer`; UnknownPeerError when it is neither connected nor in the peer store. */
export async function peerInfo(
  libp2p: Libp2p<MeshServices>,
  mesh: string,
  peer: string,
  options: PeerInfoOptions = {}
): Promise<PeerDetails> {
  const peerId = parsePeerId(peer)
  const details = await describePeer(libp2p, peerId, { mesh, ping: options.ping, signal: options.signal })
  if (details == null) throw new UnknownPeerError(peer)
  return details
}

/** Dials a multiaddr (or a PeerId, found through the peer store or the DHT) and pings it. */
export async function connectPeer(
  libp2p: Libp2p<MeshServices>,
  target: string,
  options: ConnectOptions & { defaultTimeoutMs: number }
): Promise<ConnectResult> {
  const parsed = parseDialTarget(target)
  const started = Date.now()
  const signals = [AbortSignal.timeout(options.timeoutMs ?? options.defaultTimeoutMs)]
  if (options.signal != null) signals.push(options.signal)
  const signal = AbortSignal.any(signals)
  if (parsed.peerId?.equals(libp2p.peerId) === true) throw new PeerDialError(target, 'that is this node')
  const targetPeer = parsed.peerId
  const alreadyConnected = targetPeer != null && libp2p.getConnections(targetPeer).length > 0
  let connection: Connection
  try {
    connection = await libp2p.dial(parsed.kind === 'multiaddr' ? parsed.multiaddr : parsed.peerId, { signal })
  } catch (err) {
    let reason = dialErrorReason(err, signal, options.signal)
    const unknown = parsed.kind === 'peer' && !(await libp2p.peerStore.has(parsed.peerId).catch(() => false))
    if (unknown && options.signal?.aborted !== true) {
      reason = `no address known for this peer (not in the peer store, and the DHT did not find it${signal.aborted ? ' in time' : ''})`
    }
    throw new PeerDialError(target, reason, { cause: err })
  }
  const peerId = connection.remotePeer
  const latencyMs = await measureLatency(libp2p, peerId, signal)
  const connections = describeConnections(libp2p, peerId)
  const result: ConnectResult = {
    peer: peerId.toString(),
    alreadyConnected,
    address: connection.remoteAddr.toString(),
    relayed: connections.length > 0 && connections.every((c) => c.relayed),
    connections,
    durationMs: Date.now() - started
  }
  if (latencyMs != null) result.latencyMs = latencyMs
  return result
}

/**
 * The peer's latency, or undefined (it is informative only). A relayed
 * (limited) connection may be replaced by a direct one right after the dial
 * (DCUtR or the direct upgrade close it). js-libp2p's ping does not notice
 * its connection closing: it waits for the pong until its signal ends, so a
 * ping that lost its connection would take the whole dial timeout. An
 * attempt therefore also ends when the connection it runs on closes, and is
 * tried again on the connections left.
 */
async function measureLatency(
  libp2p: Libp2p<MeshServices>,
  peerId: PeerId,
  signal: AbortSignal
): Promise<number | undefined> {
  for (let attempt = 0; attempt < CONNECT_PING_ATTEMPTS; attempt++) {
    const lost = new AbortController()
    let used: Connection | undefined
    const onClose = (event: CustomEvent<Connection>): void => {
      if (event.detail.id === used?.id) lost.abort(new Error('the connection of the ping closed'))
    }
    libp2p.addEventListener('connection:close', onClose)
    try {
      return await libp2p.services.ping.ping(peerId, {
        signal: AbortSignal.any([signal, lost.signal]),
        onProgress: (event) => {
          if (event.type !== 'connection:opened') return
          used = event.detail as Connection
          if (used.status !== 'open') lost.abort(new Error('the connection of the ping closed'))
        }
      })
    } catch {
      if (signal.aborted || libp2p.getConnections(peerId).length === 0) return undefined
    } finally {
      libp2p.removeEventListener('connection:close', onClose)
    }
  }
  return undefined
}

/** Closes every connection to `peer`; PeerNotConnectedError or UnknownPeerError when there is none. */
export async function disconnectPeer(
  libp2p: Libp2p,
  peer: string,
  options: { signal?: AbortSignal } = {}
): Promise<DisconnectResult> {
  const peerId = parsePeerId(peer)
  const count = libp2p.getConnections(peerId).length
  if (count === 0) {
    if (await libp2p.peerStore.has(peerId)) throw new PeerNotConnectedError(peer)
    throw new UnknownPeerError(peer)
  }
  await libp2p.hangUp(peerId, { signal: options.signal })
  return { peer, closed: count }
}

function dialErrorReason(err: unknown, signal: AbortSignal, callerSignal?: AbortSignal): string {
  if (callerSignal?.aborted === true) return 'cancelled'
  if (signal.aborted) return 'timed out'
  const name = (err as { name?: string })?.name
  const message = errorMessage(err)
  if (name === 'NoValidAddressesError') return `no dialable address (${message})`
  if (name === 'UnexpectedPeerError') return `the address belongs to another peer (${message})`
  if (name === 'AggregateError' && Array.isArray((err as AggregateError).errors)) {
    const inner = (err as AggregateError).errors.map((e: unknown) => errorMessage(e)).join('; ')
    return inner !== '' ? inner : message
  }
  return name != null && name !== 'Error' ? `${name}: ${message}` : message
}
