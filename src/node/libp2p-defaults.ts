import { bootstrap } from '@libp2p/bootstrap'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { type Identify, type IdentifyPush, identify, identifyPush } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { type KadDHT, kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { noise } from '@libp2p/noise'
import { type Ping, ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import type { Datastore } from 'interface-datastore'
import type { Libp2pOptions } from 'libp2p'
import type { MeshConfig } from '../config/schema.js'
import { DEFAULT_BOOTSTRAP_PEERS } from './bootstrappers.js'
import { AGENT_NAME, DHT_PROTOCOL, PING_MAX_OUTBOUND_STREAMS } from './constants.js'

export interface Libp2pDefaultsInit {
  config: MeshConfig
  privateKey: PrivateKey
  datastore: Datastore
  version: string
}

/**
 * The one editable place for the node's libp2p configuration. Every knob
 * comes from the validated config; the choices that make libp2p 3 work on
 * loopback and LANs are explained inline.
 */
export interface MeshServices extends Record<string, unknown> {
  identify: Identify
  identifyPush: IdentifyPush
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
}

export function libp2pDefaults(init: Libp2pDefaultsInit): Libp2pOptions<MeshServices> {
  const { config } = init
  const bootstrapList = [...new Set([...DEFAULT_BOOTSTRAP_PEERS, ...config.bootstrap])]
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  if (bootstrapList.length > 0) peerDiscovery.push(bootstrap({ list: bootstrapList }))
  if (config.discovery.mdns.enabled) {
    peerDiscovery.push(
      mdns({ serviceTag: config.discovery.mdns.serviceTag, interval: config.discovery.mdns.intervalMs })
    )
  }

  return {
    privateKey: init.privateKey,
    datastore: init.datastore,
    nodeInfo: { name: AGENT_NAME, version: init.version, userAgent: `${AGENT_NAME}/${init.version}` },
    addresses: {
      listen: config.addresses.listen,
      announce: config.addresses.announce,
      noAnnounce: config.addresses.noAnnounce
    },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    connectionManager: {
      maxConnections: config.connections.maxConnections,
      maxParallelDials: config.connections.maxParallelDials,
      // libp2p's default of 5 inbound dials per second per IP resets peers
      // when many nodes share a host (or a NAT) and dial one bootstrap node.
      inboundConnectionThreshold: config.connections.inboundConnectionThreshold,
      maxIncomingPendingConnections: config.connections.maxIncomingPendingConnections,
      dialTimeout: config.connections.dialTimeoutMs
    },
    services: {
      identify: identify(),
      identifyPush: identifyPush(),
      ping: ping({ maxOutboundStreams: PING_MAX_OUTBOUND_STREAMS }),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        // Client mode is kad-dht's default without a public address, which on
        // a LAN or loopback leaves every routing table empty.
        clientMode: config.discovery.dht.mode === 'client',
        // The default mapper drops private and loopback addresses; a mesh of
        // machines on one LAN (or one host) needs them.
        peerInfoMapper: passthroughMapper
      }),
      pubsub: gossipsub({
        // Catalog adverts are re-sent periodically; a publish with no peers yet is not an error.
        allowPublishToZeroTopicPeers: true,
        emitSelf: false
      })
    }
  }
}
