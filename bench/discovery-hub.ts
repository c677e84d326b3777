/**
 * Child process of bench/discovery.ts: one full mcp-mesh node (the first
 * node of the benchmark mesh), run in process with --expose-gc so the parent
 * can ask for its memory after a forced GC. IPC messages: `measure` →
 * `{ type: 'memory', usage, connections, peers }`, `stop` → exits.
 */
import { loadConfig } from '../src/config/load.js'
import { MeshNode } from '../src/node/mesh-node.js'

interface Measure {
  type: 'measure' | 'stop'
}

const home = process.argv[2]
if (home == null || process.send == null) {
  process.stderr.write('usage: node --expose-gc discovery-hub.js <home> (forked with IPC)\n')
  process.exit(2)
}
const send = process.send.bind(process)
const gc = (globalThis as { gc?: () => void }).gc
const loaded = await loadConfig(home, { flags: { mdns: false } })
const node = new MeshNode({ loaded })
await node.start()
send({ type: 'ready', peerId: node.peerId.toString() })

process.on('message', (message: Measure) => {
  void (async () => {
    if (message.type === 'stop') {
      await node.stop().catch(() => {})
      process.exit(0)
    }
    for (let i = 0; i < 3; i++) {
      gc?.()
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    send({
      type: 'memory',
      usage: process.memoryUsage(),
      connections: node.libp2p.getConnections().length,
      peers: node.libp2p.getPeers().length
    })
  })()
})
