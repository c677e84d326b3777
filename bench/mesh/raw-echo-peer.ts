/**
 * Baseline for the mesh-call benchmark: a bare js-libp2p peer (tcp, noise,
 * yamux) answering length-prefixed echo requests on one protocol. Prints its
 * address on stdout and serves until killed.
 */
import { lpStream } from '@libp2p/utils'
import { bareNode, serveUntilKilled } from './bare-node.js'
import { RAW_ECHO_PROTOCOL } from './constants.js'

const node = await bareNode(true)
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
serveUntilKilled(node)
