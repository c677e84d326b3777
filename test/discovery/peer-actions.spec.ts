import type { Connection, DialProtocolOptions, Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { connectPeer } from '../../src/discovery/peer-actions.js'
import type { MeshServices } from '../../src/interface/libp2p.js'

const RELAY = '12D3KooWNGiR3fp9oqkWLMon5ECf5PN57zNWLuAS7JUStTGxAKDa'
const PEER = '12D3KooWGVjw4mDtKrvvgBXWqSKdRiThyYBfXcdZDBiMMQRHCPyp'
const CIRCUIT = `/ip4/127.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`

function fakeConnection(id: string, direct: boolean): Connection {
  return {
    id,
    remotePeer: peerIdFromString(PEER),
    remoteAddr: multiaddr(direct ? `/ip4/127.0.0.1/tcp/4002/p2p/${PEER}` : CIRCUIT),
    direct,
    direction: direct ? 'inbound' : 'outbound',
    status: 'open',
    ...(direct ? {} : { limits: { bytes: 1n } }),
    timeline: { open: Date.now() },
    streams: []
  } as unknown as Connection
}

/**
 * A node dialled through a relay that upgrades to a direct connection while
 * the first ping runs: `closing` closes under that ping. The ping behaves as
 * js-libp2p's: it reports the connection it opened its stream on, and one
 * whose connection closes waits for its pong until its signal ends.
 */
function upgradingPeer(closing: 'the ping connection' | 'another connection'): {
  libp2p: Libp2p<MeshServices>
  pings: () => number
} {
  const events = new EventTarget()
  const relayed = fakeConnection('relayed', false)
  const other = fakeConnection('other', false)
  const direct = fakeConnection('direct', true)
  let connections = [relayed, other]
  let pings = 0
  const libp2p = {
    peerId: peerIdFromString(RELAY),
    addEventListener: events.addEventListener.bind(events),
    removeEventListener: events.removeEventListener.bind(events),
    getConnections: (_peer?: PeerId) => connections,
    dial: async () => relayed,
    services: {
      ping: {
        ping: async (_peer: PeerId, options: DialProtocolOptions = {}): Promise<number> => {
          if (++pings > 1) return 7
          options.onProgress?.({ type: 'connection:opened', detail: relayed })
          const { promise, resolve, reject } = Promise.withResolvers<number>()
          options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true })
          setImmediate(() => {
            const closed = closing === 'the ping connection' ? relayed : other
            connections = [...connections.filter((c) => c !== closed), direct]
            events.dispatchEvent(new CustomEvent('connection:close', { detail: closed }))
            // A ping whose connection stays open gets its pong.
            if (closed !== relayed) setImmediate(() => resolve(3))
          })
          return promise
        }
      }
    }
  } as unknown as Libp2p<MeshServices>
  return { libp2p, pings: () => pings }
}

describe('connectPeer', () => {
  it('pings again at once when the connection its ping runs on is replaced by a direct one', async () => {
    const { libp2p, pings } = upgradingPeer('the ping connection')
    const started = Date.now()
    const result = await connectPeer(libp2p, CIRCUIT, { defaultTimeoutMs: 5_000 })
    expect(result.latencyMs).toBe(7)
    expect(pings()).toBe(2)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('keeps a ping whose connection stays open while another connection to the peer closes', async () => {
    const { libp2p, pings } = upgradingPeer('another connection')
    const result = await connectPeer(libp2p, CIRCUIT, { defaultTimeoutMs: 5_000 })
    expect(result.latencyMs).toBe(3)
    expect(pings()).toBe(1)
  })
})
