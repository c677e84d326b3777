import { readFile } from 'node:fs/promises'
import { PassThrough } from 'node:stream'
import {
  Client,
  InMemoryTransport,
  ProtocolError,
  StreamableHTTPClientTransport,
  type Transport
} from '@modelcontextprotocol/client'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createFront, type McpFront } from '../../src/mcp/front.js'
import { HttpEndpoint } from '../../src/mcp/http.js'
import { LocalToolView } from '../../src/mcp/local-view.js'
import { StreamClientTransport } from '../../src/mcp/stream-transport.js'
import { RuntimeRouter } from '../../src/router/router.js'
import { createEchoTool } from '../../src/tools/builtin/echo.js'
import { defineTool } from '../../src/tools/define.js'
import { ToolRegistry } from '../../src/tools/registry.js'
import { cleanup, createTempDir, track } from '../helpers/index.js'

afterEach(cleanup)

const MODERN = '2026-07-28'
const OLD_REVISIONS = ['2025-11-25', '2025-06-18', '2025-03-26'] as const

function countTool(): ReturnType<typeof defineTool> {
  return defineTool({
    name: 'count',
    description: 'reports progress 1..n then returns n',
    inputSchema: z.object({ n: z.number().int().min(1).max(10) }),
    outputSchema: z.object({ n: z.number() }),
    handler: async ({ n }, { reportProgress }) => {
      for (let i = 1; i <= n; i++) reportProgress({ progress: i, total: n })
      return { n }
    }
  })
}

function setup(): { front: McpFront; view: LocalToolView; registry: ToolRegistry } {
  const registry = new ToolRegistry()
  registry.registerAll([createEchoTool(), countTool()])
  const view = new LocalToolView(registry, new RuntimeRouter(registry))
  const front = createFront()
  track('front', async () => front.close())
  return { front, view, registry }
}

function client(revision: string): Client {
  const c =
    revision === MODERN
      ? new Client({ name: 'modern', version: '1' }, { versionNegotiation: { mode: { pin: MODERN } } })
      : new Client({ name: 'old', version: '1' }, { supportedProtocolVersions: [revision] })
  track(`client ${revision}`, async () => c.close().catch(() => {}))
  return c
}

/** A stream connection as stdio and the local API socket make it: line-framed JSON-RPC over a byte stream. */
function streamPair(): { server: Transport; client: Transport } {
  const up = new PassThrough()
  const down = new PassThrough()
  return { server: new StdioServerTransport(up, down), client: new StreamClientTransport(down, up) }
}

async function exercise(c: Client, revision: string): Promise<void> {
  expect(c.getNegotiatedProtocolVersion?.() ?? revision).toBe(revision)
  const { tools } = await c.listTools()
  expect(tools.map((t) => t.name).sort()).toEqual(['count', 'echo'])
  const echoed = (await c.callTool({ name: 'echo', arguments: { message: 'hi' } })) as CallToolResult
  expect(echoed.structuredContent).toEqual({ message: 'hi' })
  const progress: number[] = []
  const counted = (await c.callTool(
    { name: 'count', arguments: { n: 3 } },
    { onprogress: (p) => progress.push(p.progress) }
  )) as CallToolResult
  expect(counted.structuredContent).toEqual({ n: 3 })
  // Bad arguments are a tool error the model can read (SEP-1303); an unknown tool is a protocol error.
  const bad = (await c.callTool({ name: 'count', arguments: { n: 'x' } })) as CallToolResult
  expect(bad.isError).toBe(true)
  await expect(c.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toBeInstanceOf(ProtocolError)
}

describe('protocol revisions on a stream connection (stdio, local API)', () => {
  for (const revision of [MODERN, ...OLD_REVISIONS]) {
    it(`serves a ${revision} client`, async () => {
      const { front, view } = setup()
      const pair = streamPair()
      const session = front.serveStream(pair.server, view, { kind: 'local' })
      const c = client(revision)
      await c.connect(pair.client)
      await session.opened
      await exercise(c, revision)
    })
  }

  it('serves a 2026-07-28 client over an in-memory pair as well', async () => {
    const { front, view } = setup()
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
    front.serveStream(serverSide, view, { kind: 'local' })
    const c = client(MODERN)
    await c.connect(clientSide)
    await exercise(c, MODERN)
  })
})

describe('protocol revisions on Streamable HTTP', () => {
  async function endpoint(): Promise<{ url: URL; token: string }> {
    const { front, view } = setup()
    const home = await createTempDir()
    const http = new HttpEndpoint(front, view, { home, port: 0 })
    await http.start()
    track('http endpoint', async () => http.stop())
    return { url: new URL(http.url!), token: (await readFile(http.tokenPath, 'utf8')).trim() }
  }

  for (const revision of [MODERN, ...OLD_REVISIONS]) {
    it(`serves a ${revision} client`, async () => {
      const { url, token } = await endpoint()
      const c = client(revision)
      await c.connect(
        new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${token}` } } })
      )
      await exercise(c, revision)
    })
  }

  it('answers a 2026-07-28 request without a token with 401 and the request id', async () => {
    const { url } = await endpoint()
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 42, method: 'server/discover', params: {} })
    })
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ id: 42, error: { code: -32002 } })
  })

  it('serves server/discover statelessly and names the request id in every error', async () => {
    const { url, token } = await endpoint()
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      'mcp-protocol-version': MODERN
    }
    const meta = {
      'io.modelcontextprotocol/protocolVersion': MODERN,
      'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
      'io.modelcontextprotocol/clientCapabilities': {}
    }
    const discover = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'mcp-method': 'server/discover' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: meta } })
    })
    expect(discover.status).toBe(200)
    const discovered = (await discover.json()) as { id: number; result: { supportedVersions?: string[] } }
    expect(discovered.id).toBe(1)
    expect(JSON.stringify(discovered.result)).toContain(MODERN)
    expect(discover.headers.get('mcp-session-id')).toBeNull()

    // A method this node does not serve is refused, with the request's id.
    const legacyOnModern = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'mcp-method': 'nope/method' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'x-9', method: 'nope/method', params: { _meta: meta } })
    })
    const refused = (await legacyOnModern.json()) as { id: unknown; error?: { code: number } }
    expect(refused.id).toBe('x-9')
    expect(refused.error?.code).toBe(-32601)

    // 2025 traffic without a session: refused, with the request's id.
    const noSession = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list', params: {} })
    })
    expect(noSession.status).toBe(400)
    expect(await noSession.json()).toMatchObject({ id: 5 })
  })
})
