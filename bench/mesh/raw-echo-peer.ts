/**
 * Baseline for the mesh-call benchmark: a bare js-libp2p peer (tcp, noise,
 * yamux) answering length-prefixed echo requests on one protocol. Prints its
 * address on stdout and serves until killed. BENCH_ECHO_SPIN_US: time spent
 * busy before each answer (wake.ts: how a longer wait of the caller costs on
 * this machine); none by default.
 */
import { lpStream } from '@libp2p/utils'
import { bareNode, serveUntilKilled } from './bare-node.js'
import { RAW_ECHO_PROTOCOL } from './constants.js'

const spinNs = BigInt(Math.round(Number(process.env.BENCH_ECHO_SPIN_US ?? 0) * 1000))
const node = await bareNode(true)
await node.handle(
  RAW_ECHO_PROTOCOL,
  async (stream) => {
    const lp = lpStream(stream)
    for (;;) {
      const request = await lp.read().catch(() => undefined)
      if (request == null) return
      if (spinNs > 0n) {
        const until = process.hrtime.bigint() + spinNs
        while (process.hrtime.bigint() < until) {
          // busy, as a peer computing its answer
        }
      }
      await lp.write(request.subarray())
    }
  },
  { maxInboundStreams: 128 }
)
serveUntilKilled(node)
