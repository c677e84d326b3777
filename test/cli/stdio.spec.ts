import { ProtocolError } from '@modelcontextprotocol/client'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, createHome, type NodeProcess, rejectionOf, resultText, spawnNode, waitFor } from '../helpers/index.js'

// One real `mcp-mesh start` process, driven over stdio by the SDK client.
let node: NodeProcess
let peerId: string

beforeAll(async () => {
  const home = await createHome()
  peerId = home.peerId
  node = await spawnNode({ home: home.dir })
})

afterAll(cleanup)

describe('mcp-mesh start over stdio', () => {
  it('answers initialize as mcp-mesh with tools (listChanged) and logging', () => {
    expect(node.client.getServerVersion()?.name).toBe('mcp-mesh')
    const capabilities = node.client.getServerCapabilities()
    expect(capabilities?.tools?.listChanged).toBe(true)
    expect(capabilities?.logging).toBeDefined()
    expect(node.client.getInstructions()).toContain('mcp-mesh')
  })

  it('lists the built-in tools with titles and output schemas', async () => {
    const { tools } = await node.client.listTools()
    const byName = new Map(tools.map((t) => [t.name, t]))
    for (const name of ['echo', 'sha256', 'sleep', 'mesh_status', 'mesh_health']) {
      const tool = byName.get(name)
      expect(tool, name).toBeDefined()
      expect(tool!.title, `${name} title`).toEqual(expect.any(String))
      expect(tool!.outputSchema, `${name} outputSchema`).toMatchObject({ type: 'object' })
      expect(tool!.inputSchema.type).toBe('object')
      expect(tool!.inputSchema).not.toHaveProperty('$schema')
    }
  })

  it('calls echo and sha256', async () => {
    const echo = (await node.client.callTool({ name: 'echo', arguments: { message: 'hello mesh' } })) as CallToolResult
    expect(echo.structuredContent).toEqual({ message: 'hello mesh' })
    expect(JSON.parse(resultText(echo))).toEqual({ message: 'hello mesh' })
    const hash = (await node.client.callTool({ name: 'sha256', arguments: { data: 'abc' } })) as CallToolResult
    expect(hash.structuredContent).toEqual({
      hex: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      bytes: 3
    })
  })

  it('reports its own PeerId and health', async () => {
    const status = await node.status()
    expect(status.peerId).toBe(peerId)
    expect(status.addresses.every((a) => a.startsWith('/ip4/127.0.0.1/'))).toBe(true)
    const health = await node.health()
    expect(health.healthy).toBe(true)
    expect(health.checks.map((c) => c.subsystem)).toEqual(expect.arrayContaining(['libp2p', 'datastore', 'mcp']))
  })

  it('answers bad arguments with a tool error the model can read (SEP-1303)', async () => {
    const bad = (await node.client.callTool({ name: 'echo', arguments: { message: 1 } })) as CallToolResult
    expect(bad.isError).toBe(true)
    expect(resultText(bad)).toContain('message')
    const missing = (await node.client.callTool({ name: 'sleep', arguments: {} })) as CallToolResult
    expect(missing.isError).toBe(true)
  })

  it('answers an unknown tool with an error naming it', async () => {
    const err = await rejectionOf<ProtocolError>(node.client.callTool({ name: 'no_such_tool', arguments: {} }))
    expect(err).toBeInstanceOf(ProtocolError)
    expect(err.code).toBe(-32602)
    expect(err.message).toContain('no_such_tool')
  })

  it('sends progress for sleep when the call has a progress token', async () => {
    const progress: Array<{ progress: number; total?: number }> = []
    const result = (await node.client.callTool(
      { name: 'sleep', arguments: { durationMs: 350 } },
      { onprogress: (p) => progress.push({ progress: p.progress, total: p.total }) }
    )) as CallToolResult
    expect((result.structuredContent as { sleptMs: number }).sleptMs).toBeGreaterThanOrEqual(350)
    // The ticks arrive; the final "done" notification may not: the SDK client handles a
    // response before notifications read in the same chunk, then forgets the token.
    expect(progress.length).toBeGreaterThanOrEqual(1)
    for (const p of progress) {
      expect(p.total).toBe(350)
      expect(p.progress).toBeLessThanOrEqual(350)
    }
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.progress).toBeGreaterThanOrEqual(progress[i - 1]!.progress)
    }
  })

  it('cancels a sleep when the client aborts, and keeps serving', async () => {
    const failedBefore = (await node.status()).router.calls.failed
    const controller = new AbortController()
    let ticks = 0
    const call = node.client.callTool(
      { name: 'sleep', arguments: { durationMs: 60_000 } },
      {
        signal: controller.signal,
        onprogress: () => {
          ticks++
        }
      }
    )
    // Abort once the tool is demonstrably running (it has reported progress).
    await waitFor(() => ticks > 0, { message: 'sleep to report progress' })
    controller.abort(new Error('test cancelled'))
    const err = await rejectionOf(call)
    expect(err.message).toContain('test cancelled')
    // The node is still there and answers at once.
    const echo = (await node.client.callTool({ name: 'echo', arguments: { message: 'after' } })) as CallToolResult
    expect(echo.structuredContent).toEqual({ message: 'after' })
    // The router ended the cancelled call (as a failed call) instead of letting it sleep on.
    await waitFor(async () => (await node.status()).router.calls.failed === failedBefore + 1, {
      message: 'the cancelled call to finish'
    })
  })
})
