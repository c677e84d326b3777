/**
 * The bare js-libp2p node of the speed bench's baselines (the floor's echo
 * peer and client, the ideal path's forwarder and echo peer): tcp, noise and
 * yamux, the stack the mesh's nodes use, and nothing else.
 */
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { createLibp2p, type Libp2p } from 'libp2p'
import { RAW_ECHO_PROTOCOL } from './constants.js'

/** A bare node; listening on a free 127.0.0.1 port when `listen`. */
export async function bareNode(listen = false): Promise<Libp2p> {
  return createLibp2p({
    ...(listen ? { addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } } : {}),
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

/** A baseline peer's life: its address on stdout (for the bench to dial), stopped on SIGTERM. */
export function serveUntilKilled(node: Libp2p): void {
  process.stdout.write(`${node.getMultiaddrs()[0]!.toString()}\n`)
  process.on('SIGTERM', () => {
    void Promise.resolve(node.stop()).then(() => process.exit(0))
  })
}

/**
 * Answers the floor's length-prefixed echo requests on `node` (a bare node or
 * a whole mcp-mesh node's libp2p), busy for `spinNs` before each answer.
 */
export async function serveRawEcho(node: Pick<Libp2p, 'handle'>, spinNs = 0n): Promise<void> {
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
}
