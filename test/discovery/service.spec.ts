import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { discovery } from '../../src/discovery/index.js'
import type { MeshServices } from '../../src/interface/libp2p.js'
import { libp2pDefaults } from '../../src/node/libp2p-defaults.js'
import { cleanup, createTempDir, rejectionOf } from '../helpers/index.js'

const UNKNOWN_PEER = '12D3KooWGVjw4mDtKrvvgBXWqSKdRiThyYBfXcdZDBiMMQRHCPyp'

describe('discovery service', () => {
  const config = parseConfig(
    {
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      discovery: { mdns: { enabled: false } },
      nat: { autonat: false, dcutr: false, upnp: false }
    },
    'test'
  )
  let libp2p: Libp2p<MeshServices>
  let home: string

  beforeAll(async () => {
    home = await createTempDir('mcp-mesh-discovery-service-')
    libp2p = await createLibp2p(
      await libp2pDefaults({
        config,
        privateKey: await generateKeyPair('Ed25519'),
        datastore: new MemoryDatastore(),
        version: 'test'
      })
    )
  })

  afterAll(async () => {
    await libp2p?.stop()
    await cleanup()
  })

  it('lists the peer tools, and start and stop can be called twice', async () => {
    const service = discovery({ config, home })({ libp2p })
    expect(service.name).toBe('discovery')
    expect(service.status()).toEqual({ mesh: 'default', running: false })
    expect((await service.health()).ok).toBe(false)
    expect(
      service
        .tools()
        .map((tool) => tool.name)
        .sort()
    ).toEqual(['bootstrap_status', 'peer_connect', 'peer_disconnect', 'peer_discover', 'peer_info'])

    await service.start()
    await service.start()
    expect(service.status()).toMatchObject({ mesh: 'default', connections: { peers: 0 }, bootstrap: [] })
    // No bootstrap peer configured: alone, but not isolated.
    expect((await service.health()).ok).toBe(true)
    expect((await rejectionOf(service.peerInfo(UNKNOWN_PEER))).name).toBe('UnknownPeerError')
    expect((await rejectionOf(service.peerInfo('xyz'))).name).toBe('InvalidPeerIdError')

    await service.stop()
    await service.stop()
    // Started again after a stop, then stopped for good.
    await service.start()
    await service.stop()
  })
})
