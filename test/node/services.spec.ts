import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initHome, loadConfig } from '../../src/config/load.js'
import { MeshNode } from '../../src/node/mesh-node.js'
import { cleanup, createTempDir } from '../helpers/index.js'

/**
 * The composition root: the node creates every service from its factory,
 * registers each service's tools after it starts and unregisters them before
 * it stops, and connects the router and the local view to the mesh only
 * while the mesh runs. Real libp2p on 127.0.0.1, in process, mDNS off.
 */
describe('the composition root (src/node/services.ts)', () => {
  let node: MeshNode

  beforeAll(async () => {
    const home = join(await createTempDir('mcp-mesh-services-'), 'home')
    await initHome(home)
    const loaded = await loadConfig(home, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false } })
    node = new MeshNode({ loaded, api: false })
  })

  afterAll(async () => {
    await node?.stop()
    await cleanup()
  })

  it('creates the services in start order and registers their tools only while they run', async () => {
    expect(node.router.dispatcher).toBeUndefined()
    await node.start()
    expect(node.services.all.map((service) => service.name)).toEqual(['mesh', 'queue', 'workflow', 'discovery'])
    expect(node.services.all.every((service) => service.running)).toBe(true)
    for (const name of ['peer_list', 'mesh_call', 'task_submit', 'worker_status', 'workflow_submit', 'peer_connect']) {
      expect(node.registry.has(name), name).toBe(true)
    }
    // The router reaches the mesh's dispatcher through a closure, only while the mesh runs.
    expect(node.router.dispatcher).toBe(node.services.mesh.dispatcher)
    // mesh_status gathers every service's status, and the gate's.
    const status = node.status()
    expect(Object.keys(status.subsystems)).toEqual(['mesh', 'queue', 'workflow', 'discovery'])
    expect(status.trust.inbound.call).toEqual({ denied: 0, busy: 0, 'rate-limited': 0 })
  })

  it('wires the queue to the mesh: the queue sees the mesh port, its worker state goes into adverts', async () => {
    const queue = node.services.queue
    expect(queue.workerInfo()).toMatchObject({ accepting: true })
    const { task } = await queue.submit({ tool: 'echo', args: { message: 'wired' } })
    const done = await queue.waitFor(task.id, { timeoutMs: 10_000 })
    expect(done.state).toBe('succeeded')
  })

  it('unregisters every service tool on stop, and a second stop is a no-op', async () => {
    await node.stop()
    for (const name of ['peer_list', 'task_submit', 'workflow_submit', 'peer_connect']) {
      expect(node.registry.has(name), name).toBe(false)
    }
    expect(node.router.dispatcher).toBeUndefined()
    await node.stop()
  })
})
