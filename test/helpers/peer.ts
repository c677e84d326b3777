import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p, type Libp2p } from 'libp2p'
import { track } from './cleanup.js'

export interface RawPeerOptions {
  /** Listen on 127.0.0.1 (a node can then dial it back); default: dial only. */
  listen?: boolean
}

/**
 * A bare libp2p peer in the test process (tcp, noise, yamux, identify): it
 * speaks whatever bytes the test tells it to. Stopped by `cleanup()`.
 */
export async function rawPeer(options: RawPeerOptions = {}): Promise<Libp2p> {
  const node = await createLibp2p({
    ...(options.listen === true ? { addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } } : {}),
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  track('raw libp2p peer', async () => node.stop())
  return node
}
