import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterEach, describe, expect, it } from 'vitest'
import {
  cleanup,
  createHome,
  createTempDir,
  FIXTURES_DIR,
  type NodeProcess,
  rejectionOf,
  resultText,
  spawnNode,
  tcpAddress,
  waitFor
} from '../helpers/index.js'

const PROVIDER_MODULE = join(FIXTURES_DIR, 'mesh-provider.mjs')

afterEach(cleanup)

/** Fast catalog settings so tests wait on events, not on the 5 s advert period. */
const FAST_CATALOG = { catalog: { advertIntervalMs: 500, peerTtlMs: 3_000 } }

async function provider(name: string, bootstrap?: string): Promise<NodeProcess> {
  const home = await createHome({ config: { tools: [PROVIDER_MODULE], ...FAST_CATALOG } })
  return spawnNode({
    home: home.dir,
    args: bootstrap != null ? ['--bootstrap', bootstrap] : [],
    env: { MESH_TEST_NAME: name }
  })
}

async function plainNode(bootstrap?: string): Promise<NodeProcess> {
  const home = await createHome({ config: FAST_CATALOG })
  return spawnNode({ home: home.dir, args: bootstrap != null ? ['--bootstrap', bootstrap] : [] })
}

async function toolNames(node: NodeProcess): Promise<string[]> {
  return (await node.client.listTools()).tools.map((tool) => tool.name)
}

async function waitForTool(node: NodeProcess, name: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => (await toolNames(node)).includes(name), {
    timeoutMs,
    intervalMs: 50,
    message: `${name} listed`
  })
}

describe('mesh tool calls over /mcp+p2p', () => {
  it('lists and calls a tool exported on C from A, hides and denies a non-exported one', async () => {
    const a = await plainNode()
    const addrA = tcpAddress(await a.status())
    const b = await plainNode(addrA)
    const c = await provider('C', tcpAddress(await b.status()))
    const peerC = (await c.status()).peerId

    await waitForTool(a, 'remote_double')
    const listed = (await a.client.listTools()).tools.find((tool) => tool.name === 'remote_double')
    expect(listed?.description).toContain('runs on mesh peer')
    expect(listed?.outputSchema).toBeDefined()

    const result = (await a.client.callTool({ name: 'remote_double', arguments: { n: 21 } })) as CallToolResult
    expect(result.isError).not.toBe(true)
    expect(result.structuredContent).toEqual({ doubled: 42, node: 'C' })
    expect(result._meta?.['mcp-mesh/peer']).toBe(peerC)

    // Not exported: not in A's list, and a direct call is denied by C.
    expect(await toolNames(a)).not.toContain('remote_secret')
    const denied = (await a.client.callTool({
      name: 'mesh_call',
      arguments: { peer: peerC, tool: 'remote_secret' }
    })) as CallToolResult
    expect(denied.isError).toBe(true)
    expect(resultText(denied)).toMatch(/denied by peer .*not exported/)
    // Calling it by name from A: no peer offers it.
    const unknown = await rejectionOf(a.client.callTool({ name: 'remote_secret', arguments: {} }))
    expect(String(unknown)).toMatch(/Unknown tool: remote_secret/)
    expect(c.stderr()).not.toContain('should never leave')

    // C's inbound counters record the denial.
    const meshC = (await c.status()).subsystems.mesh as { inbound: { denied: number } }
    expect(meshC.inbound.denied).toBeGreaterThanOrEqual(1)
  })

  it('sends tools/list_changed when a provider joins and when it leaves', async () => {
    const a = await plainNode()
    const addrA = tcpAddress(await a.status())
    let notifications = 0
    a.client.setNotificationHandler('notifications/tools/list_changed', () => {
      notifications++
    })
    const c = await provider('C', addrA)
    await waitForTool(a, 'remote_double')
    await waitFor(() => notifications >= 1, { message: 'list_changed after join' })
    const afterJoin = notifications

    await c.kill('SIGKILL')
    await waitFor(() => notifications > afterJoin, { timeoutMs: 15_000, message: 'list_changed after leave' })
    await waitFor(async () => !(await toolNames(a)).includes('remote_double'), { timeoutMs: 15_000 })
  })

  it('fails over to the other provider when one is killed', async () => {
    const a = await plainNode()
    const addrA = tcpAddress(await a.status())
    const b = await provider('B', addrA)
    const c = await provider('C', addrA)
    const peers = [(await b.status()).peerId, (await c.status()).peerId]
    // Listed (with schemas fetched) as offered by both providers.
    await waitFor(
      async () =>
        (await a.client.listTools()).tools
          .find((t) => t.name === 'remote_double')
          ?.description?.includes('one of 2 mesh peers'),
      { timeoutMs: 15_000, message: 'both providers listed' }
    )
    const first = (await a.client.callTool({ name: 'remote_double', arguments: { n: 1 } })) as CallToolResult
    const usedPeer = first._meta?.['mcp-mesh/peer'] as string
    const victim = usedPeer === peers[0] ? b : c
    const survivor = usedPeer === peers[0] ? 'C' : 'B'
    await victim.kill('SIGKILL')

    for (let n = 0; n < 5; n++) {
      const result = (await a.client.callTool({ name: 'remote_double', arguments: { n } })) as CallToolResult
      expect(result.isError, resultText(result)).not.toBe(true)
      expect(result.structuredContent).toEqual({ doubled: n * 2, node: survivor })
    }
  })

  it('relays progress from C and propagates cancellation to C', async () => {
    const a = await plainNode()
    const c = await provider('C', tcpAddress(await a.status()))
    await waitForTool(a, 'remote_slow')
    const dir = await createTempDir()

    // Progress reaches A's client.
    const progress: number[] = []
    const done = (await a.client.callTool(
      { name: 'remote_slow', arguments: { durationMs: 400 } },
      { onprogress: (p) => progress.push(p.progress) }
    )) as CallToolResult
    expect(done.structuredContent).toEqual({ done: true })
    expect(progress.length).toBeGreaterThan(0)

    // Cancelling on A aborts the handler on C.
    const marker = join(dir, 'slow.marker')
    const controller = new AbortController()
    const call = a.client.callTool(
      { name: 'remote_slow', arguments: { durationMs: 60_000, marker } },
      { signal: controller.signal }
    )
    await waitFor(async () => (await readFile(marker, 'utf8').catch(() => '')) === 'started', { timeoutMs: 15_000 })
    controller.abort('user cancelled')
    await rejectionOf(call)
    await waitFor(async () => (await readFile(marker, 'utf8').catch(() => '')) === 'aborted', {
      timeoutMs: 10_000,
      message: 'handler on C observed the abort'
    })
    // Both nodes keep serving.
    const again = (await a.client.callTool({ name: 'remote_double', arguments: { n: 2 } })) as CallToolResult
    expect(again.structuredContent).toEqual({ doubled: 4, node: 'C' })
    expect((await c.status()).peerId).toBeTruthy()
  })

  it('times a mesh-routed call out at its provider’s timeout through the front, as a tool error', async () => {
    const a = await plainNode()
    await provider('C', tcpAddress(await a.status()))
    await waitForTool(a, 'remote_hurried')
    const dir = await createTempDir()
    const marker = join(dir, 'hurried.marker')
    const timedOut = (await a.client.callTool({
      name: 'remote_hurried',
      arguments: { durationMs: 60_000, marker }
    })) as CallToolResult
    // The front's own controller took the deadline: a timeout, not a cancellation (nor a missing answer).
    expect(timedOut.isError).toBe(true)
    expect(resultText(timedOut)).toContain('timed out after 1500 ms')
    expect(resultText(timedOut)).not.toContain('cancelled')
    await waitFor(async () => (await readFile(marker, 'utf8').catch(() => '')) === 'aborted', {
      timeoutMs: 10_000,
      message: 'handler on C observed the abort'
    })
    // The session and the pooled stream keep serving.
    const again = (await a.client.callTool({ name: 'remote_double', arguments: { n: 4 } })) as CallToolResult
    expect(again.structuredContent).toEqual({ doubled: 8, node: 'C' })
  })

  it('times a remote call out at its deadline and cancels it on the peer (mesh_call timeoutMs)', async () => {
    const a = await plainNode()
    const c = await provider('C', tcpAddress(await a.status()))
    await waitForTool(a, 'remote_slow')
    const dir = await createTempDir()
    const marker = join(dir, 'deadline.marker')
    const peer = (await c.status()).peerId
    const started = Date.now()
    const timedOut = (await a.client.callTool({
      name: 'mesh_call',
      arguments: { peer, tool: 'remote_slow', arguments: { durationMs: 60_000, marker }, timeoutMs: 1_500 }
    })) as CallToolResult
    expect(timedOut.isError).toBe(true)
    expect(resultText(timedOut)).toContain(`timed out after 1500 ms (on peer ${peer})`)
    expect(Date.now() - started).toBeLessThan(30_000)
    await waitFor(async () => (await readFile(marker, 'utf8').catch(() => '')) === 'aborted', {
      timeoutMs: 10_000,
      message: 'handler on C observed the cancellation'
    })
    // The pooled stream keeps serving.
    const again = (await a.client.callTool({ name: 'remote_double', arguments: { n: 3 } })) as CallToolResult
    expect(again.structuredContent).toEqual({ doubled: 6, node: 'C' })
  })

  it('runs 64 concurrent remote calls with correct results over one pooled stream', async () => {
    const a = await plainNode()
    await provider('C', tcpAddress(await a.status()))
    await waitForTool(a, 'remote_double')
    const results = await Promise.all(
      Array.from({ length: 64 }, async (_, n) => {
        const result = (await a.client.callTool({ name: 'remote_double', arguments: { n } })) as CallToolResult
        return result.structuredContent as { doubled: number }
      })
    )
    expect(results.map((r) => r.doubled)).toEqual(Array.from({ length: 64 }, (_, n) => n * 2))
    const mesh = (await a.status()).subsystems.mesh as { outbound: { streamsOpened: number } }
    expect(mesh.outbound.streamsOpened).toBe(1)
  })

  it('reports distinct errors: bad arguments, unknown peer, bad peer id', async () => {
    const a = await plainNode()
    const c = await provider('C', tcpAddress(await a.status()))
    await waitForTool(a, 'remote_double')
    // Bad arguments, checked on the provider: a tool error the model can read (SEP-1303).
    const badArgs = (await a.client.callTool({ name: 'remote_double', arguments: { n: 'x' } })) as CallToolResult
    expect(badArgs.isError).toBe(true)

    const unreachable = (await a.client.callTool({
      name: 'mesh_call',
      arguments: { peer: (await createHome()).peerId, tool: 'echo', arguments: { message: 'x' }, timeoutMs: 5_000 }
    })) as CallToolResult
    expect(unreachable.isError).toBe(true)
    expect(resultText(unreachable)).toMatch(/unreachable|timed out/)

    const badPeer = (await a.client.callTool({
      name: 'mesh_call',
      arguments: { peer: 'not-a-peer-id', tool: 'echo' }
    })) as CallToolResult
    expect(badPeer.isError).toBe(true)
    expect(resultText(badPeer)).toContain('not a valid peer ID')
    expect((await c.status()).peerId).toBeTruthy()
  })
})
