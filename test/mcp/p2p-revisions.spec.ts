import { multiaddr } from '@multiformats/multiaddr'
import { Client } from '@modelcontextprotocol/client'
import type { CallToolResult } from '@modelcontextprotocol/server'
import type { Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MCP_P2P_PROTOCOL } from '../../src/mesh/constants.js'
import { P2PStreamTransport } from '../../src/mesh/p2p-transport.js'
import {
  cleanup,
  createHome,
  FIXTURES_DIR,
  type NodeProcess,
  spawnNode,
  tcpAddress,
  track,
  waitFor,
  rawPeer
} from '../helpers/index.js'

/**
 * `/mcp+p2p` negotiates the revision per stream: the legacy `initialize`
 * of deployed MCP++ peers (2024-11-05) and the 2025 revisions keep working,
 * 2026-07-28 is accepted, and a client that probes (as this project's peer
 * pool does) gets the newest revision both sides speak.
 */

let target: NodeProcess
let address: string
let peer: Libp2p

beforeAll(async () => {
  const home = await createHome({ config: { tools: [`${FIXTURES_DIR}/mesh-provider.mjs`] } })
  target = await spawnNode({ home: home.dir, env: { MESH_TEST_NAME: 'target' } })
  address = tcpAddress(await target.status())
  peer = await rawPeer()
}, 60_000)

afterAll(cleanup)

async function connect(options: ConstructorParameters<typeof Client>[1]): Promise<Client> {
  const stream = await peer.dialProtocol(multiaddr(address), MCP_P2P_PROTOCOL)
  const client = new Client({ name: 'p2p-revision-test', version: '1' }, options)
  await client.connect(new P2PStreamTransport(stream, { maxFrameBytes: 16 * 1024 * 1024 }))
  track('p2p client', async () => client.close().catch(() => {}))
  return client
}

async function doubled(client: Client): Promise<unknown> {
  await waitFor(async () => (await client.listTools()).tools.some((tool) => tool.name === 'remote_double'))
  const result = (await client.callTool({ name: 'remote_double', arguments: { n: 4 } })) as CallToolResult
  return result.structuredContent
}

describe('/mcp+p2p protocol revisions', () => {
  for (const revision of ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25']) {
    it(`serves a peer that initializes with ${revision}`, async () => {
      const client = await connect({ supportedProtocolVersions: [revision] })
      expect(client.getNegotiatedProtocolVersion()).toBe(revision)
      expect(await doubled(client)).toEqual({ doubled: 8, node: 'target' })
    })
  }

  it('serves a 2026-07-28 peer (server/discover, per-request _meta)', async () => {
    const client = await connect({ versionNegotiation: { mode: { pin: '2026-07-28' } } })
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28')
    expect(await doubled(client)).toEqual({ doubled: 8, node: 'target' })
  })

  it('gives a probing peer (as the peer pool is) the newest revision both sides speak', async () => {
    const client = await connect({ versionNegotiation: { mode: 'auto' } })
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28')
    expect(await doubled(client)).toEqual({ doubled: 8, node: 'target' })
  })
})
