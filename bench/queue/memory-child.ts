/**
 * Heap cost of queued tasks: a real node (datastore, libp2p on loopback, the
 * queue service) with its queue paused; 20,000 small tasks are submitted and
 * the heap delta after GC is divided by their number. Run with --expose-gc.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initHome, loadConfig } from '../../src/config/load.js'
import { MeshNode } from '../../src/node/mesh-node.js'

const COUNT = 20_000
const gc = (globalThis as { gc?: () => void }).gc
if (gc == null) throw new Error('run with --expose-gc')

const root = await mkdtemp(join(tmpdir(), 'mcp-mesh-queue-mem-'))
try {
  const home = join(root, 'home')
  await initHome(home)
  const loaded = await loadConfig(home, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false } })
  const node = new MeshNode({ loaded, api: false })
  await node.start()
  const queue = node.services.queue
  await queue.pause()
  gc()
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < COUNT; i++) await queue.submit({ tool: 'echo', args: { message: `m${i}` } })
  gc()
  const after = process.memoryUsage().heapUsed
  process.stdout.write(JSON.stringify({ bytesPerTask: (after - before) / COUNT }))
  await node.stop()
} finally {
  await rm(root, { recursive: true, force: true })
}
process.exit(0)
