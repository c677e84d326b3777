import { noise } from '@libp2p/noise'
import type { Connection, DialProtocolOptions, Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { connectPeer } from '../../src/discovery/peer-actions.js'
import type { MeshServices } from '../../src/interface/libp2p.js'
import { cleanup, track } from '../helpers/index.js'

afterEach(cleanup)

const PING_PROTOCOL = '/ipfs/ping/1.0.0'

async function pingPeer(): Promise<Libp2p<{ ping: ReturnType<ReturnType<typeof ping>> }>> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { ping: ping() }
  })
  track('ping peer', async () => node.stop())
  return node
}

describe('connectPeer', () => {
  it('pings again at once when the connection its ping runs on closes (a relayed one replaced by a direct one)', async () => {
    const [node, peer] = [await pingPeer(), await pingPeer()]
    // The peer closes the first ping's connection once the ping arrived, unanswered, as the
    // direct upgrade closes a relayed connection; js-libp2p's ping then waits for its signal.
    let first = true
    await peer.unhandle(PING_PROTOCOL)
    await peer.handle(PING_PROTOCOL, async (stream, connection) => {
      if (first) {
        first = false
        for await (const _ of stream) break
        await connection.close()
        return
      }
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    })
    // Two connections, as the relayed and the direct one: one is left when the ping's closes.
    const address = peer.getMultiaddrs()[0]!
    await node.dial(address, { force: true })
    await node.dial(address, { force: true })
    const started = Date.now()
    const result = await connectPeer(node as unknown as Libp2p<MeshServices>, address.toString(), {
      defaultTimeoutMs: 5_000
    })
    expect(result.latencyMs).toBeTypeOf('number')
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(first).toBe(false)
  })

  it('keeps a ping whose connection stays open while another connection to the peer closes', async () => {
    const PEER = '12D3KooWGVjw4mDtKrvvgBXWqSKdRiThyYBfXcdZDBiMMQRHCPyp'
    const connection = (id: string): Connection =>
      ({
        id,
        remotePeer: peerIdFromString(PEER),
        remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`),
        direct: true,
        direction: 'outbound',
        status: 'open',
        timeline: { open: Date.now() },
        streams: []
      }) as unknown as Connection
    const [used, other] = [connection('used'), connection('other')]
    const events = new EventTarget()
    let pings = 0
    const libp2p = {
      peerId: peerIdFromString('12D3KooWNGiR3fp9oqkWLMon5ECf5PN57zNWLuAS7JUStTGxAKDa'),
      addEventListener: events.addEventListener.bind(events),
      removeEventListener: events.removeEventListener.bind(events),
      getConnections: (_peer?: PeerId) => [used],
      dial: async () => used,
      services: {
        ping: {
          ping: async (_peer: PeerId, options: DialProtocolOptions = {}): Promise<number> => {
            pings++
            options.onProgress?.({ type: 'connection:opened', detail: used })
            events.dispatchEvent(new CustomEvent('connection:close', { detail: other }))
            await new Promise((resolve) => setImmediate(resolve))
            options.signal?.throwIfAborted()
            return 3
          }
        }
      }
    } as unknown as Libp2p<MeshServices>
    const result = await connectPeer(libp2p, `/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`, { defaultTimeoutMs: 5_000 })
    expect(result.latencyMs).toBe(3)
    expect(pings).toBe(1)
  })
})
