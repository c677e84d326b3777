/**
 * Baseline for the mesh-call benchmark: a bare js-libp2p peer (tcp, noise,
 * yamux) answering length-prefixed echo requests on one protocol. Prints its
 * address on stdout and serves until killed.
 */
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { RAW_ECHO_PROTOCOL } from './constants.js'

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()]
})
await node.handle(
  RAW_ECHO_PROTOCOL,
  async (stream) => {
    const lp = lpStream(stream)
    for (;;) {
      const request = await lp.read().catch(() => undefined)
      if (request == null) return
      await lp.write(request.subarray())
    }
  },
  { maxInboundStreams: 128 }
)
process.stdout.write(`${node.getMultiaddrs()[0]!.toString()}\n`)
process.on('SIGTERM', () => {
  void Promise.resolve(node.stop()).then(() => process.exit(0))
})
