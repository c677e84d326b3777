import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createHome, parseJson, runCli, waitFor } from '../helpers/index.js'
import { freePort, meshDaemon, meshLayerPresent, waitConnected } from './harness.js'

afterEach(cleanup)

const UNKNOWN_PEER = '12D3KooWGVjw4mDtKrvvgBXWqSKdRiThyYBfXcdZDBiMMQRHCPyp'

describe('mcp-mesh doctor', () => {
  it('reports a healthy node with exit code 0', async () => {
    const a = await meshDaemon()
    const b = await meshDaemon({ args: ['--bootstrap', await a.address()] })
    await waitConnected(b, [a.peerId])
    await waitFor(async () => (await b.discovery()).connections.members === 1, { timeoutMs: 10_000, intervalMs: 50 })
    if (meshLayerPresent) {
      await waitFor(async () => (await b.discovery()).topics.some((t) => t.subscribed && t.subscribers > 0), {
        timeoutMs: 10_000,
        intervalMs: 50,
        message: 'a topic peer'
      })
    }

    const text = await runCli(['doctor', '--home', b.home.dir])
    expect(text.code, text.stdout + text.stderr).toBe(0)
    expect(text.stdout).toContain(`mcp-mesh doctor: peer ${b.peerId}`)
    expect(text.stdout).toMatch(/\[ ok \] reachability: reachable on the LAN/)
    expect(text.stdout).toMatch(/\[ ok \] peers: 1 peer connected, 1 in mesh "default"/)
    expect(text.stdout).toMatch(/\[ ok \] dht: server mode \(configured auto\), routing table 1 peer/)
    expect(text.stdout).toMatch(/\[ ok \] bootstrap: 1\/1 bootstrap peers connected/)
    expect(text.stdout).toMatch(/relay: 1 direct and 0 relayed connections/)
    expect(text.stdout).toMatch(/listen: +\/ip4\/127\.0\.0\.1\/tcp\/0/)
    if (meshLayerPresent) {
      expect(text.stdout).toMatch(new RegExp(`\\[ ok \\] end-to-end: mesh_call echo on ${a.peerId} answered in`))
      expect(text.stdout).toMatch(/\[ ok \] topic \/mcp-mesh\/default\/catalog\/1\.0\.0: 1 peer subscribed/)
    } else {
      expect(text.stdout).toContain('mesh_call unavailable')
    }
    expect(text.stdout).toMatch(/^healthy/m)

    const json = await runCli(['doctor', '--json', '--home', b.home.dir])
    expect(json.code).toBe(0)
    const report = parseJson<{ healthy: boolean; checks: Array<{ name: string; level: string }> }>(json)
    expect(report.healthy).toBe(true)
    expect(report.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['reachability', 'addresses', 'relay', 'peers', 'dht', 'bootstrap', 'end-to-end'])
    )
  }, 60_000)

  it('reports an isolated node with exit code 1', async () => {
    const node = await meshDaemon({
      args: ['--bootstrap', `/ip4/127.0.0.1/tcp/${await freePort()}/p2p/${UNKNOWN_PEER}`]
    })
    await waitFor(async () => (await node.discovery()).bootstrap[0]!.consecutiveFailures >= 1, {
      timeoutMs: 10_000,
      intervalMs: 50
    })
    // Discovery on demand says why it cannot work, at once.
    const discover = await node.ok<{ dht: { error?: string }; mesh: { error?: string }; durationMs: number }>(
      'peer_discover',
      { methods: ['dht', 'mesh'] }
    )
    expect(discover.dht.error).toMatch(/routing table is empty/)
    expect(discover.mesh.error).toMatch(/routing table is empty/)
    expect(discover.durationMs).toBeLessThan(1_000)

    const result = await runCli(['doctor', '--home', node.home.dir])
    expect(result.code, result.stdout + result.stderr).toBe(1)
    expect(result.stdout).toMatch(/\[FAIL\] peers: isolated: no connected peers/)
    expect(result.stdout).toMatch(/\[FAIL\] dht: .*routing table 0 peers: empty/)
    expect(result.stdout).toMatch(/\[FAIL\] bootstrap: 0\/1 bootstrap peers connected/)
    expect(result.stdout).toMatch(new RegExp(`/p2p/${UNKNOWN_PEER}: DOWN, \\d+ failed attempts, next in`))
    expect(result.stdout).toMatch(/end-to-end: (skipped: no connected mesh peer|mesh_call unavailable)/)
    if (meshLayerPresent) expect(result.stdout).toMatch(/catalog\/1\.0\.0: NO PEERS/)
    expect(result.stdout).toMatch(/^\d+ problems?/m)
  }, 60_000)

  it('fails clearly when no node is running', async () => {
    const home = await createHome()
    const result = await runCli(['doctor', '--home', home.dir])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/no node is running/)
  }, 30_000)
})
