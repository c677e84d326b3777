import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createHome, spawnNode, tcpAddress, waitFor } from '../helpers/index.js'

afterEach(cleanup)

describe('libp2p host', () => {
  it('two nodes connect through --bootstrap on 127.0.0.1 and see each other', async () => {
    const a = await spawnNode({ home: (await createHome()).dir })
    const statusA = await a.status()
    const bootstrap = tcpAddress(statusA)
    expect(bootstrap).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW/)

    const b = await spawnNode({ home: (await createHome()).dir, args: ['--bootstrap', bootstrap] })
    const peerB = (await b.status()).peerId
    const seen = await waitFor(async () => (await b.status()).connectedPeers.find((p) => p.peerId === statusA.peerId), {
      message: 'B to connect to A'
    })
    expect(seen.addresses.some((addr) => addr.startsWith('/ip4/127.0.0.1/tcp/'))).toBe(true)
    await waitFor(async () => (await a.status()).connectedPeers.some((p) => p.peerId === peerB), {
      message: 'A to see B'
    })
  })

  it('keeps its PeerId across restarts on the same home', async () => {
    const home = await createHome()
    const first = await spawnNode({ home: home.dir })
    const firstId = (await first.status()).peerId
    expect(firstId).toBe(home.peerId)
    expect(await first.closeStdin()).toEqual({ code: 0, signal: null })

    const second = await spawnNode({ home: home.dir })
    expect((await second.status()).peerId).toBe(firstId)
  })

  it('takes listen addresses from MCP_MESH_LISTEN when no flag is given', async () => {
    const home = await createHome()
    const node = await spawnNode({
      home: home.dir,
      loopback: false,
      args: ['--no-mdns'],
      env: { MCP_MESH_LISTEN: '/ip4/127.0.0.1/tcp/0/ws' }
    })
    const { addresses } = await node.status()
    expect(addresses.length).toBeGreaterThan(0)
    expect(addresses.every((a) => a.startsWith('/ip4/127.0.0.1/tcp/') && a.includes('/ws'))).toBe(true)
  })
})
