/**
 * One bare js-libp2p node for bench/scale/idle.ts: the services an
 * mcp-mesh node runs underneath (tcp, noise, yamux, identify, ping, kad-dht
 * in server mode with loopback addresses kept, gossipsub subscribed to one
 * topic that nobody publishes on), on libp2p's defaults otherwise. Only the
 * per-IP inbound dial threshold is raised: on one host the default of 5/s
 * resets peers dialling one node. Forked with IPC: sends `{ type: 'ready',
 * address }`, dials the addresses of `{ type: 'dial', addresses }`, answers
 * `{ type: 'status' }` with its connection count, exits on `stop`.
 */
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

if (process.send == null) {
  process.stderr.write('bare-node: fork me with IPC\n')
  process.exit(2)
}
const send = process.send.bind(process)

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionManager: { inboundConnectionThreshold: 100 },
  services: {
    identify: identify(),
    ping: ping(),
    dht: kadDHT({ protocol: '/bench-bare/kad/1.0.0', clientMode: false, peerInfoMapper: passthroughMapper }),
    pubsub: gossipsub({ allowPublishToZeroTopicPeers: true })
  }
})
node.services.pubsub.subscribe('/bench-bare/catalog/1.0.0')
const address = node.getMultiaddrs().find((ma) => ma.toString().startsWith('/ip4/127.0.0.1/'))
send({ type: 'ready', address: address?.toString(), peerId: node.peerId.toString() })

process.on('message', (message: { type: string; addresses?: string[] }) => {
  if (message.type === 'dial') {
    void Promise.allSettled((message.addresses ?? []).map(async (a) => node.dial(multiaddr(a)))).then((results) =>
      send({ type: 'dialed', ok: results.filter((r) => r.status === 'fulfilled').length })
    )
  } else if (message.type === 'status') {
    send({ type: 'status', connections: node.getConnections().length })
  } else if (message.type === 'stop') {
    void Promise.resolve(node.stop()).finally(() => process.exit(0))
  }
})
process.on('disconnect', () => {
  void Promise.resolve(node.stop()).finally(() => process.exit(0))
})
