import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  childPids,
  cleanup,
  commandLine,
  createHome,
  EVERYTHING_SERVER,
  NODE_BIN,
  type NodeProcess,
  resultText,
  spawnNode,
  waitFor
} from '../helpers/index.js'

// A node proxying the reference MCP server (`@modelcontextprotocol/server-everything`, stdio).
let node: NodeProcess

beforeAll(async () => {
  const home = await createHome({
    config: { servers: { everything: { command: NODE_BIN, args: [EVERYTHING_SERVER, 'stdio'] } } }
  })
  node = await spawnNode({ home: home.dir })
})

afterAll(cleanup)

async function everythingPid(): Promise<number> {
  const pids = await childPids(node.pid)
  for (const pid of pids) if ((await commandLine(pid)).includes('server-everything')) return pid
  throw new Error(`no server-everything child of ${node.pid} (children: ${pids.join(', ')})`)
}

describe('proxied MCP servers', () => {
  it('lists the server’s tools under its prefix, with the source in the description', async () => {
    const { tools } = await node.client.listTools()
    const echo = tools.find((t) => t.name === 'everything.echo')
    expect(echo, tools.map((t) => t.name).join(', ')).toBeDefined()
    expect(echo!.description).toContain('via MCP server "everything"')
    expect(echo!.inputSchema).toMatchObject({ type: 'object', properties: { message: { type: 'string' } } })
    // Its own echo stays unprefixed beside it.
    expect(tools.some((t) => t.name === 'echo')).toBe(true)
  })

  it('forwards calls to the server', async () => {
    const result = (await node.client.callTool({
      name: 'everything.echo',
      arguments: { message: 'through the proxy' }
    })) as CallToolResult
    expect(result.isError).toBeFalsy()
    expect(resultText(result)).toBe('Echo: through the proxy')
  })

  it('reports the server in mesh_status and mesh_health', async () => {
    const { servers } = await node.status()
    expect(servers).toEqual([
      expect.objectContaining({ name: 'everything', state: 'running', restarts: 0, tools: expect.any(Number) })
    ])
    expect(servers[0]!.tools).toBeGreaterThan(1)
    const health = await node.health()
    expect(health.checks).toContainEqual(expect.objectContaining({ subsystem: 'server:everything', ok: true }))
  })

  it('reports a dead server and restarts it', async () => {
    const pid = await everythingPid()
    process.kill(pid, 'SIGKILL')
    const restarted = await waitFor(
      async () => {
        const server = (await node.status()).servers[0]
        return server?.state === 'running' && server.restarts >= 1 ? server : undefined
      },
      { timeoutMs: 20_000, message: 'the server to be restarted' }
    )
    expect(restarted.restarts).toBeGreaterThanOrEqual(1)
    expect(restarted.lastError).toBeUndefined()
    expect(await everythingPid()).not.toBe(pid)
    const result = (await node.client.callTool({
      name: 'everything.echo',
      arguments: { message: 'after restart' }
    })) as CallToolResult
    expect(resultText(result)).toBe('Echo: after restart')
  })
})
