/**
 * The floor's echo protocol served by a whole mcp-mesh node (every service a
 * node runs: DHT, gossipsub, identify, the catalog, the queue, the front)
 * instead of a bare libp2p node: whether a node's libp2p stack, or its size,
 * costs more per round trip than the bare floor's (wake.ts). Prints its TCP
 * address on stdout and serves until killed.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initHome, loadConfig } from '../../src/config/load.js'
import { MeshNode } from '../../src/node/mesh-node.js'
import { tcpAddressOf } from '../configure.js'
import { serveRawEcho } from './bare-node.js'

const root = await mkdtemp(join(tmpdir(), 'mcp-mesh-node-echo-'))
const home = join(root, 'home')
await initHome(home)
const loaded = await loadConfig(home, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false } })
const node = new MeshNode({ loaded, api: false })
await node.start()
await serveRawEcho(node.libp2p)
process.stdout.write(`${tcpAddressOf({ addresses: node.libp2p.getMultiaddrs().map(String) })}\n`)
process.on('SIGTERM', () => {
  void node
    .stop()
    .then(async () => rm(root, { recursive: true, force: true }))
    .then(() => process.exit(0))
})
