/**
 * Child process of bench/discovery.ts, run with --expose-gc so the parent can
 * read its memory after a forced GC. Two modes:
 *  - `node` (default): one full mcp-mesh node (the first node of the mesh);
 *  - `libp2p`: only the libp2p host built from the node's config
 *    (libp2pDefaults: tcp, noise, yamux, identify, ping, kad-dht, gossipsub,
 *    AutoNAT, DCUtR, circuit-relay transport), which dials the addresses the
 *    parent sends. It separates the libp2p stack's share per connection.
 * IPC: `measure` → `{ type: 'memory', usage, connections, peers }`,
 * `dial` `{ addresses }` → `{ type: 'dialed', ok, failed }`, `stop` → exits.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p, type Libp2p } from 'libp2p'
import { loadConfig } from '../src/config/load.js'
import { loadPrivateKey } from '../src/identity/identity.js'
import { libp2pDefaults } from '../src/node/libp2p-defaults.js'
import { MeshNode } from '../src/node/mesh-node.js'
import { VERSION } from '../src/interface/version.js'

interface Message {
  type: 'measure' | 'stop' | 'dial'
  addresses?: string[]
}

const [home, mode = 'node'] = process.argv.slice(2)
if (home == null || process.send == null) {
  process.stderr.write('usage: node --expose-gc discovery-hub.js <home> [node|libp2p] (forked with IPC)\n')
  process.exit(2)
}
const send = process.send.bind(process)
const gc = (globalThis as { gc?: () => void }).gc
const loaded = await loadConfig(home, { flags: { mdns: false } })
let libp2p: Libp2p
let stop: () => Promise<void>
if (mode === 'libp2p') {
  const config = loaded.config
  const host = await createLibp2p(
    await libp2pDefaults({
      config,
      privateKey: loadPrivateKey(config.identity!),
      datastore: new MemoryDatastore(),
      version: VERSION
    })
  )
  libp2p = host
  stop = async () => host.stop()
} else {
  const node = new MeshNode({ loaded })
  await node.start()
  libp2p = node.libp2p
  stop = async () => node.stop()
}
send({ type: 'ready', peerId: libp2p.peerId.toString() })

process.on('message', (message: Message) => {
  void (async () => {
    if (message.type === 'stop') {
      await stop().catch(() => {})
      process.exit(0)
    }
    if (message.type === 'dial') {
      const results = await Promise.allSettled(
        (message.addresses ?? []).map(async (address) => libp2p.dial(multiaddr(address)))
      )
      send({
        type: 'dialed',
        ok: results.filter((r) => r.status === 'fulfilled').length,
        failed: results.filter((r) => r.status === 'rejected').length
      })
      return
    }
    for (let i = 0; i < 3; i++) {
      gc?.()
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    send({
      type: 'memory',
      usage: process.memoryUsage(),
      connections: libp2p.getConnections().length,
      peers: libp2p.getPeers().length
    })
  })()
})
