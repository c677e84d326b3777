import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup } from '../helpers/index.js'
import { meshDaemon, waitConnected } from './harness.js'

afterEach(cleanup)

/** Whether a multicast datagram sent to the mDNS group comes back to us (loopback). */
async function multicastWorks(): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = createSocket({ type: 'udp4', reuseAddr: true })
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      socket.close()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), 500)
    const probe = randomBytes(8).toString('hex')
    socket.on('error', () => done(false))
    socket.on('message', (message) => {
      if (message.toString() === probe) done(true)
    })
    socket.bind(0, () => {
      try {
        socket.addMembership('224.0.0.251')
        socket.setMulticastLoopback(true)
        socket.send(probe, socket.address().port, '224.0.0.251', (err) => {
          if (err != null) done(false)
        })
      } catch {
        done(false)
      }
    })
  })
}

const multicast = await multicastWorks()

describe('mDNS', () => {
  // The only spec with mDNS on: it multicasts on the real interfaces, with a
  // service tag of its own so it never meets other nodes on the network.
  it.skipIf(!multicast)(
    'two nodes on one host find each other without any bootstrap address',
    async () => {
      const serviceTag = `_mcp-mesh-test-${randomBytes(4).toString('hex')}._udp.local`
      const config = { discovery: { mdns: { enabled: true, serviceTag, intervalMs: 1_000 } } }
      const listen = ['--listen', '/ip4/127.0.0.1/tcp/0']
      const a = await meshDaemon({ config, loopback: false, args: listen })
      const b = await meshDaemon({ config, loopback: false, args: listen })
      await waitConnected(a, [b.peerId], 20_000)
      const discovery = await a.discovery()
      expect(discovery.mdns).toMatchObject({ enabled: true, serviceTag })
      expect(discovery.mdns.discovered).toBeGreaterThanOrEqual(1)
      expect(discovery.bootstrap).toEqual([])
    },
    60_000
  )
})
