import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterAll, describe, expect, it } from 'vitest'
import { startHttpFixture } from '../conformance/suite.js'
import { cleanup, collectProgress, createHome, resultText, spawnNode, waitFor } from '../helpers/index.js'

/**
 * A `servers` entry of type http: a remote MCP server reached over
 * Streamable HTTP (here the conformance fixture on 127.0.0.1), its headers
 * sent with every request, its tools, prompts and resources shared as a
 * stdio child's are, its log messages and progress relayed to the caller.
 */
afterAll(cleanup)

const KEY = 'fixture-secret'

describe('servers entries over Streamable HTTP', () => {
  it('shares a remote server with the entry headers, relaying logs and progress to the caller', async () => {
    const url = await startHttpFixture({ FIXTURE_KEY: KEY })
    const home = await createHome({
      config: { servers: { remote: { type: 'http', url, headers: { 'x-fixture-key': KEY } } } }
    })
    const node = await spawnNode({ home: home.dir })
    await waitFor(async () => (await node.client.listTools()).tools.some((t) => t.name === 'remote.test_simple_text'), {
      timeoutMs: 30_000,
      message: 'the remote server to be shared'
    })
    const simple = (await node.client.callTool({ name: 'remote.test_simple_text', arguments: {} })) as CallToolResult
    expect(resultText(simple)).toBe('This is a simple text response for testing.')

    const logged: string[] = []
    node.client.setNotificationHandler('notifications/message', (notification) => {
      logged.push(String(notification.params.data))
    })
    await node.client.setLoggingLevel('info')
    await node.client.callTool({ name: 'remote.test_tool_with_logging', arguments: {} })
    await waitFor(() => logged.length >= 3, { timeoutMs: 5_000, message: 'three log messages' })
    expect(logged).toEqual(['Tool execution started', 'Tool processing data', 'Tool execution completed'])
    // A level above the messages' (info) lets none through.
    await node.client.setLoggingLevel('error')
    await node.client.callTool({ name: 'remote.test_tool_with_logging', arguments: {} })
    expect(logged).toHaveLength(3)

    // Our own token and handler: the SDK's onprogress drops a notification read with the result.
    const progress = collectProgress(node.client)
    await node.client.callTool({ name: 'remote.test_tool_with_progress', arguments: {}, _meta: progress.meta })
    await waitFor(() => progress.values.length >= 3, { timeoutMs: 5_000, message: 'three progress notifications' })
    expect(progress.values).toEqual([0, 50, 100])

    const { prompts } = await node.client.listPrompts()
    expect(prompts.map((p) => p.name)).toContain('remote.test_simple_prompt')
    const read = await node.client.readResource({ uri: 'test://static-text' })
    expect(read.contents[0]).toMatchObject({ text: 'This is the content of the static text resource.' })

    const [status] = (await node.status()).servers
    expect(status).toMatchObject({ name: 'remote', state: 'running' })
  }, 60_000)

  it('reports a remote server that refuses the entry headers, and shares none of its tools', async () => {
    const url = await startHttpFixture({ FIXTURE_KEY: KEY })
    const home = await createHome({
      config: { servers: { remote: { type: 'http', url, headers: { 'x-fixture-key': 'wrong' } } } }
    })
    const node = await spawnNode({ home: home.dir })
    await waitFor(async () => (await node.status()).servers[0]?.lastError != null, {
      timeoutMs: 30_000,
      message: 'the refused connection to be reported'
    })
    const [status] = (await node.status()).servers
    expect(status!.state).not.toBe('running')
    expect(status!.lastError).toMatch(/401|missing or wrong/u)
    expect((await node.client.listTools()).tools.some((t) => t.name.startsWith('remote.'))).toBe(false)
  }, 60_000)
})
