import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createHome, resultText, runCli, waitFor } from '../helpers/index.js'
import { FAST_DISCOVERY, freePort, meshDaemon, waitConnected } from './harness.js'

afterEach(cleanup)

const UNKNOWN_PEER = '12D3KooWGVjw4mDtKrvvgBXWqSKdRiThyYBfXcdZDBiMMQRHCPyp'

describe('bad bootstrap addresses', () => {
  it('malformed bootstrap addresses in the config, a flag or the environment are refused clearly', async () => {
    const home = await createHome()
    const cases: Array<{ args: string[]; env?: Record<string, string>; message: RegExp }> = [
      {
        args: ['--bootstrap', '/ip4/300.0.0.1/tcp/4001/p2p/' + UNKNOWN_PEER],
        message: /--bootstrap\[0\].*invalid multiaddr/
      },
      { args: ['--bootstrap', '/ip4/127.0.0.1/tcp/4001'], message: /must end with \/p2p\/<peer-id>/ },
      { args: [], env: { MCP_MESH_BOOTSTRAP: 'not-a-multiaddr' }, message: /MCP_MESH_BOOTSTRAP\[0\]/ }
    ]
    for (const { args, env, message } of cases) {
      const result = await runCli(['daemon', '--home', home.dir, '--no-mdns', ...args], { env, timeoutMs: 20_000 })
      expect(result.code, result.stderr).toBe(1)
      expect(result.stderr).toMatch(message)
    }
    await home.patchConfig({ bootstrap: ['/dns4/example.org/tcp/4001'] })
    const fromFile = await runCli(['daemon', '--home', home.dir, '--no-mdns'], { timeoutMs: 20_000 })
    expect(fromFile.code).toBe(1)
    expect(fromFile.stderr).toMatch(/bootstrap\[0\].*\/p2p\/<peer-id>/)
  }, 60_000)

  it('a bootstrap peer that is down is retried with backoff (via /dns4) and joined when it comes up', async () => {
    const homeA = await createHome({ config: FAST_DISCOVERY })
    const port = await freePort()
    const b = await meshDaemon({ args: ['--bootstrap', `/dns4/localhost/tcp/${port}/p2p/${homeA.peerId}`] })
    const down = await waitFor(
      async () => {
        const [peer] = (await b.ok<{ peers: Array<Record<string, unknown>> }>('bootstrap_status')).peers
        return peer != null && (peer.consecutiveFailures as number) >= 2 ? peer : undefined
      },
      { timeoutMs: 15_000, intervalMs: 50, message: 'two failed bootstrap attempts' }
    )
    expect(down.state).toMatch(/backoff|dialing/)
    expect(down.lastError).toBeTypeOf('string')
    // The node itself is fine, and says so.
    expect((await b.status()).peerId).toBe(b.peerId)
    const health = await b.ok<{ checks: Array<{ subsystem: string; ok: boolean; detail: string }> }>('mesh_health')
    expect(health.checks.find((c) => c.subsystem === 'discovery')).toMatchObject({ ok: false })

    const a = await meshDaemon({
      home: homeA,
      loopback: false,
      args: ['--no-mdns', '--listen', `/ip4/127.0.0.1/tcp/${port}`]
    })
    await waitConnected(b, [a.peerId], 15_000)
    const [up] = (await b.ok<{ peers: Array<Record<string, unknown>> }>('bootstrap_status')).peers
    expect(up).toMatchObject({ state: 'connected', consecutiveFailures: 0 })
  }, 60_000)
})

describe('bad peer addresses and ids', () => {
  it('malformed, unknown and unreachable peers give clear errors and never crash the node', async () => {
    const node = await meshDaemon()
    const other = await meshDaemon()

    const expectError = async (name: string, args: Record<string, unknown>, pattern: RegExp): Promise<void> => {
      const result = (await node.call(name, args)) as CallToolResult
      expect(result.isError, `${name} ${JSON.stringify(args)}`).toBe(true)
      expect(resultText(result)).toMatch(pattern)
    }
    // Malformed input: a tool error from the input schema, which the model can read (SEP-1303).
    for (const args of [
      { address: 'not-a-multiaddr' },
      { address: '/ip4/1.2.3/tcp/1' },
      { address: '/ip4/127.0.0.1/tcp/1/p2p/notapeerid' },
      { address: '' }
    ]) {
      await expectError('peer_connect', args, /Invalid arguments for tool peer_connect/)
    }
    await expectError('peer_info', { peer: 'xyz' }, /invalid peer id "xyz"/)

    // Unknown peer.
    await expectError('peer_info', { peer: UNKNOWN_PEER }, /unknown peer .*not connected and not in the peer store/)
    await expectError('peer_disconnect', { peer: UNKNOWN_PEER }, /unknown peer/)
    await expectError(
      'peer_connect',
      { address: UNKNOWN_PEER, timeoutMs: 3_000 },
      /could not connect to .*no address known/
    )
    // Unreachable: a closed port, an unresolvable name, a wrong peer id at a live address.
    const closed = await freePort()
    await expectError(
      'peer_connect',
      { address: `/ip4/127.0.0.1/tcp/${closed}/p2p/${UNKNOWN_PEER}`, timeoutMs: 3_000 },
      /could not connect to/
    )
    await expectError(
      'peer_connect',
      { address: `/dns4/no-such-host.invalid/tcp/4001/p2p/${UNKNOWN_PEER}`, timeoutMs: 5_000 },
      /could not connect to/
    )
    const live = (await other.address()).replace(other.peerId, UNKNOWN_PEER)
    await expectError('peer_connect', { address: live, timeoutMs: 3_000 }, /could not connect to/)
    await expectError('peer_connect', { address: await node.address(), timeoutMs: 3_000 }, /that is this node/)

    // Still healthy and able to connect.
    const ok = await node.ok<{ peer: string }>('peer_connect', { address: await other.address() })
    expect(ok.peer).toBe(other.peerId)
    await expectError('peer_disconnect', { peer: node.peerId }, /unknown peer|not connected/)
    expect(
      (await node.ok<{ closed: number }>('peer_disconnect', { peer: other.peerId })).closed
    ).toBeGreaterThanOrEqual(1)
    await expectError('peer_disconnect', { peer: other.peerId }, /not connected to/)
  }, 60_000)

  it('the CLI refuses malformed addresses with exit code 2 and reports dial failures with exit code 1', async () => {
    const node = await meshDaemon()
    const malformed = await runCli(['connect', '/ip4/999.0.0.1/tcp/1', '--home', node.home.dir])
    expect(malformed.code).toBe(2)
    expect(malformed.stderr).toMatch(/invalid peer address/)
    const unreachable = await runCli([
      'connect',
      `/ip4/127.0.0.1/tcp/${await freePort()}/p2p/${UNKNOWN_PEER}`,
      '--timeout',
      '3000',
      '--home',
      node.home.dir
    ])
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toMatch(/could not connect to/)
  }, 60_000)
})
