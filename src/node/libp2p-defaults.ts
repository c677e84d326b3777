import { createHash } from 'node:crypto'
import { autoNATv2 } from '@libp2p/autonat-v2'
import { type CircuitRelayServerInit, circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub, StrictSign } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import type { ComponentLogger, Metrics, PrivateKey } from '@libp2p/interface'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import type { Datastore } from 'interface-datastore'
import type { Libp2pOptions } from 'libp2p'
import {
  RELAY_HOP_TIMEOUT_MS,
  RELAY_LIMIT_DATA_BYTES,
  RELAY_LIMIT_DURATION_MS,
  RELAY_MAX_INBOUND_HOP_STREAMS,
  RELAY_MAX_OUTBOUND_STOP_STREAMS
} from '../config/defaults.js'
import type { MeshConfig } from '../config/schema.js'
import { DHT_INITIAL_QUERY_SELF_INTERVAL_MS } from '../discovery/constants.js'
import { nodeInternals, perIpConnectionGater } from '../discovery/internals.js'
import type { MeshServices } from '../interface/libp2p.js'
import { catalogTopic, GOSSIP_MAX_INBOUND_RPC_BYTES } from '../mesh/index.js'
import { taskTopic } from '../queue/index.js'
import { AGENT_NAME } from '../interface/version.js'
import {
  CONNECTION_PING_MIN_TIMEOUT_MS,
  DHT_PROTOCOL,
  PING_MAX_INBOUND_STREAMS,
  PING_MAX_OUTBOUND_STREAMS
} from './constants.js'

/**
 * The connection monitor's ping interval. Measured (bench/scale): a ping
 * stream per connection every 15 s was most of an idle node's remaining
 * CPU once catalog adverts stopped. A closed socket is seen at once anyway
 * (TCP reset or FIN); the ping only finds silently dead connections and
 * refreshes `rtt`, for which two minutes is plenty (calls measure their own
 * round trips).
 */
const CONNECTION_MONITOR_INTERVAL_MS = 2 * 60 * 1000
/**
 * gossipsub sends IDONTWANT for messages above this size. Catalog records
 * are about 1 KB: below it a duplicate costs less than the control messages
 * that would prevent it (measured: −22 % idle CPU with 5 s adverts).
 */
const GOSSIP_IDONTWANT_MIN_BYTES = 64 * 1024

/**
 * gossipsub's fast message id: under StrictSign a message is identified by
 * its author and sequence number, so duplicates are dropped before their
 * signature is verified again.
 */
function fastMessageId(msg: { from?: Uint8Array; seqno?: Uint8Array; data?: Uint8Array }): string {
  if (msg.from != null && msg.seqno != null)
    return `${Buffer.from(msg.from).toString('base64')}:${Buffer.from(msg.seqno).toString('base64')}`
  return createHash('sha1')
    .update(msg.data ?? new Uint8Array(0))
    .digest('base64')
}

export interface Libp2pDefaultsInit {
  config: MeshConfig
  privateKey: PrivateKey
  datastore: Datastore
  version: string
  /** Contents of `<home>/swarm.key`: when present, pnet protects every connection. */
  swarmKey?: Uint8Array
  /** libp2p's metrics (`@libp2p/prometheus-metrics` on the node's own registry). */
  metrics?: (components: { logger: ComponentLogger }) => Metrics
}

/**
 * The one editable place for the node's libp2p configuration. Every knob
 * comes from the validated config; the choices that make libp2p 3 work on
 * loopback and LANs are explained inline.
 */

const CIRCUIT_LISTEN = '/p2p-circuit'
/** This machine's own processes: exempt from per-IP limits (as in discovery's connection gater). */
const LOOPBACK_IPS = ['127.0.0.1', '::1']

/**
 * Penalties for bad senders on the mesh's own topics. Only invalid messages
 * (those our validators Reject: malformed, wrongly signed, signed by someone
 * other than the record's owner, oversized) count, as gossipsub's P4:
 * -10 × n² with n decaying by 1 % a second, so a peer that sends three is
 * below the graylist threshold (-80: its RPCs are ignored) for about a
 * minute, and ten for about three. Delivery-rate penalties (P3, mesh
 * failures) are off: adverts and announcements are rare by design, and an
 * honest quiet peer must not look like a bad one. Stale or replayed records
 * are Ignored, never Rejected, since an honest relay may forward them.
 */
const MESH_TOPIC_SCORE = {
  topicWeight: 1,
  timeInMeshWeight: 0,
  timeInMeshQuantum: 1_000,
  timeInMeshCap: 3_600,
  firstMessageDeliveriesWeight: 0,
  firstMessageDeliveriesDecay: 0.5,
  firstMessageDeliveriesCap: 1,
  meshMessageDeliveriesWeight: 0,
  meshMessageDeliveriesDecay: 0.5,
  meshMessageDeliveriesCap: 1,
  meshMessageDeliveriesThreshold: 1,
  meshMessageDeliveriesWindow: 10,
  meshMessageDeliveriesActivation: 5_000,
  meshFailurePenaltyWeight: 0,
  meshFailurePenaltyDecay: 0.5,
  invalidMessageDeliveriesWeight: -10,
  invalidMessageDeliveriesDecay: 0.99
}

function isCircuitAddress(address: string): boolean {
  return address.split('/').includes('p2p-circuit')
}

/**
 * Listen addresses: the configured ones, plus `/p2p-circuit` (reserve a slot
 * on any relay found) when `relay.client` is `always`, or `auto` and the node
 * has no direct listen address (dial-only, as behind NAT). Nodes that listen
 * directly but turn out unreachable from the WAN add it later (discovery).
 */
export function listenAddresses(config: MeshConfig): string[] {
  const listen = [...config.addresses.listen]
  const direct = listen.some((address) => !isCircuitAddress(address))
  const wantCircuit = config.relay.client === 'always' || (config.relay.client === 'auto' && !direct)
  if (wantCircuit && !listen.includes(CIRCUIT_LISTEN)) listen.push(CIRCUIT_LISTEN)
  return listen
}

/** The DHT mode to start in; `auto` is then kept up to date by discovery's reachability monitor. */
export function initialDhtClientMode(config: MeshConfig): boolean {
  const mode = config.discovery.dht.mode
  if (mode !== 'auto') return mode === 'client'
  return !config.addresses.listen.some((address) => !isCircuitAddress(address))
}

/**
 * `--relay`: a circuit-relay-v2 server with every bound explicit (values in
 * src/config/defaults.ts): reservations by count and TTL, hop streams, and
 * (unless `relay.limitCircuits` is false) each circuit's duration and data.
 * A limited connection carries only protocols registered with
 * `runOnLimitedConnection`, which the mesh's own protocols are.
 */
export function relayServerInit(config: MeshConfig): CircuitRelayServerInit {
  const { maxReservations, reservationTtlMs, limitCircuits, limitDurationMs, limitDataBytes } = config.relay
  const limited = limitCircuits || limitDurationMs != null || limitDataBytes != null
  return {
    hopTimeout: RELAY_HOP_TIMEOUT_MS,
    maxInboundHopStreams: RELAY_MAX_INBOUND_HOP_STREAMS,
    maxOutboundStopStreams: RELAY_MAX_OUTBOUND_STOP_STREAMS,
    reservations: {
      maxReservations,
      reservationTtl: reservationTtlMs,
      applyDefaultLimit: limited,
      ...(limited
        ? {
            defaultDurationLimit: limitDurationMs ?? RELAY_LIMIT_DURATION_MS,
            defaultDataLimit: BigInt(limitDataBytes ?? RELAY_LIMIT_DATA_BYTES)
          }
        : {})
    }
  }
}

/**
 * libp2p's options for the node. mDNS, UPnP and pnet are imported only when
 * the config (or a swarm key) turns them on: a node without them does not
 * keep their code and module state (UPnP's SSDP and port mapper alone are
 * about 1 MiB of heap).
 */
export async function libp2pDefaults(init: Libp2pDefaultsInit): Promise<Libp2pOptions<MeshServices>> {
  const { config } = init
  // Bootstrap peers are dialled by discovery's BootstrapKeeper (with backoff), not by @libp2p/bootstrap.
  const internals = nodeInternals()
  const services: Libp2pOptions<MeshServices>['services'] = {
    identify: identify(),
    identifyPush: identifyPush(),
    ping: ping({ maxOutboundStreams: PING_MAX_OUTBOUND_STREAMS, maxInboundStreams: PING_MAX_INBOUND_STREAMS }),
    dht: kadDHT({
      protocol: DHT_PROTOCOL,
      // kad-dht's own auto mode counts only public addresses, which on a LAN
      // or loopback leaves every routing table empty; discovery decides instead.
      clientMode: initialDhtClientMode(config),
      // The default mapper drops private and loopback addresses; a mesh of
      // machines on one LAN (or one host) needs them.
      peerInfoMapper: passthroughMapper,
      initialQuerySelfInterval: DHT_INITIAL_QUERY_SELF_INTERVAL_MS
    }),
    pubsub: gossipsub({
      // A node alone publishes its catalog record anyway (it republishes it when a peer subscribes).
      allowPublishToZeroTopicPeers: true,
      // The catalog keeps its own signed record to hand on in anti-entropy; the
      // queue's announcement handler skips its own announcements.
      emitSelf: true,
      fastMsgIdFn: fastMessageId,
      idontwantMinDataSize: GOSSIP_IDONTWANT_MIN_BYTES,
      // A peer reached through a (limited) relay circuit still gets the catalog.
      runOnLimitedConnection: true,
      // Every message is signed by its author and unsigned ones are dropped:
      // the catalog's adverts (and the queue's announcements) rely on it.
      globalSignaturePolicy: StrictSign,
      // An RPC larger than this is not decoded (the default is 4 MiB); adverts are at most 256 KiB.
      maxInboundDataLength: GOSSIP_MAX_INBOUND_RPC_BYTES,
      // Gossipsub's sybil defence scores down every peer once more than 10 share
      // an IP; nodes on one host (loopback) would then never form a topic mesh.
      scoreParams: {
        IPColocationFactorWhitelist: new Set(LOOPBACK_IPS),
        topics: Object.fromEntries(
          [catalogTopic(config.mesh.name), taskTopic(config.mesh.name)].map((topic) => [topic, MESH_TOPIC_SCORE])
        )
      }
    }),
    meshInternals: internals.service
  }
  if (config.discovery.mdns.enabled) {
    const { mdns } = await import('@libp2p/mdns')
    services.mdns = mdns({ serviceTag: config.discovery.mdns.serviceTag, interval: config.discovery.mdns.intervalMs })
  }
  // AutoNAT v2, not v1: a v1 server dials the asker back with openConnection(),
  // which returns the *existing* connection to that peer, then closes it in a
  // `finally` - every probe between connected peers cut their live connection
  // (seen as catalog flapping and failed calls). v2 dials back on a dedicated
  // connection (`force: true`) and closes only that one.
  if (config.nat.autonat) services.autoNAT = autoNATv2()
  if (config.nat.dcutr) services.dcutr = dcutr()
  if (config.nat.upnp) services.upnp = (await import('@libp2p/upnp-nat')).uPnPNAT()
  if (config.relay.server) services.relay = circuitRelayServer(relayServerInit(config))

  const connectionProtector =
    init.swarmKey != null ? (await import('@libp2p/pnet')).preSharedKey({ psk: init.swarmKey }) : undefined
  return {
    privateKey: init.privateKey,
    datastore: init.datastore,
    nodeInfo: { name: AGENT_NAME, version: init.version, userAgent: `${AGENT_NAME}/${init.version}` },
    addresses: {
      listen: listenAddresses(config),
      announce: config.addresses.announce,
      noAnnounce: config.addresses.noAnnounce
    },
    transports: [tcp(), webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(init.metrics != null ? { metrics: init.metrics } : {}),
    // A private mesh: every connection is wrapped in the pre-shared key's
    // cipher before Noise; peers without the key fail the handshake.
    ...(connectionProtector != null ? { connectionProtector } : {}),
    connectionGater: perIpConnectionGater(config.connections.maxConnectionsPerIp, internals.connections),
    connectionMonitor: {
      pingInterval: CONNECTION_MONITOR_INTERVAL_MS,
      pingTimeout: { minTimeout: CONNECTION_PING_MIN_TIMEOUT_MS }
    },
    connectionManager: {
      maxConnections: config.connections.maxConnections,
      maxParallelDials: config.connections.maxParallelDials,
      // libp2p's default of 5 inbound dials per second per IP resets peers
      // when many nodes share a host (or a NAT) and dial one bootstrap node.
      inboundConnectionThreshold: config.connections.inboundConnectionThreshold,
      maxIncomingPendingConnections: config.connections.maxIncomingPendingConnections,
      dialTimeout: config.connections.dialTimeoutMs,
      maxDialQueueLength: config.connections.maxDialQueueLength,
      maxPeerAddrsToDial: config.connections.maxPeerAddrsToDial
    },
    services
  }
}
