/**
 * The bare js-libp2p node of the speed bench's baselines (the floor's echo
 * peer and client, the ideal path's forwarder and echo peer): tcp, noise and
 * yamux, the stack the mesh's nodes use, and nothing else.
 */
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p, type Libp2p } from 'libp2p'

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
