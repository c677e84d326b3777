import { request as httpRequest } from 'node:http'
import { readFile, stat } from 'node:fs/promises'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/server'
import { afterEach, describe, expect, it } from 'vitest'
import { createFront, type McpFront } from '../../src/mcp/front.js'
import { HttpEndpoint, type HttpEndpointInit, type HttpSessionEnd } from '../../src/mcp/http.js'
import { bearerToken, tokenMatches } from '../../src/mcp/http-token.js'
import { isInitializeBody, originAllowed, requestId } from '../../src/mcp/http-guard.js'
import type { ToolView } from '../../src/mcp/view.js'
import { cleanup, createHome, createTempDir, spawnNode, track, waitFor, withTimeout } from '../helpers/index.js'

afterEach(cleanup)

const PING: McpTool = { name: 'ping', description: 'answers pong', inputSchema: { type: 'object' } }

const view: ToolView = {
  list: () => [PING],
  describe: (name) => (name === 'ping' ? PING : undefined),
  call: async (): Promise<CallToolResult> => ({ content: [{ type: 'text', text: 'pong' }] })
}

interface Started {
  endpoint: HttpEndpoint
  front: McpFront
  url: string
  token: string
  home: string
}

async function startEndpoint(init: Partial<HttpEndpointInit> = {}): Promise<Started> {
  const home = await createTempDir()
  const front = createFront()
  const endpoint = new HttpEndpoint(front, view, { home, port: 0, ...init })
  await endpoint.start()
  track('http endpoint', async () => {
    await endpoint.stop()
    await front.close()
  })
  const token = (await readFile(endpoint.tokenPath, 'utf8')).trim()
  return { endpoint, front, url: endpoint.url!, token, home }
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 7,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body)
  })
}

async function connect(
  url: string,
  token: string
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } }
  })
  const client = new Client({ name: 'http-auth-test', version: '1' })
  await client.connect(transport)
  track('http client', async () => client.close().catch(() => {}))
  return { client, transport }
}

/** A raw request with a chosen Host header (fetch does not let a caller set it). */
async function withHost(url: string, host: string, token: string): Promise<number> {
  const target = new URL(url)
  return new Promise<number>((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          host,
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream'
        }
      },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      }
    )
    req.on('error', reject)
    req.end(JSON.stringify(INITIALIZE))
  })
}

describe('Streamable HTTP: bearer token', () => {
  it('creates a 0600 token file of 32 random bytes (base64url) on first start, and keeps it', async () => {
    const { endpoint, token, home } = await startEndpoint()
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect((await stat(endpoint.tokenPath)).mode & 0o777).toBe(0o600)
    await endpoint.stop()
    const again = new HttpEndpoint(createFront(), view, { home, port: 0 })
    await again.start()
    track('second endpoint', async () => again.stop())
    expect((await readFile(again.tokenPath, 'utf8')).trim()).toBe(token)
  })

  it('answers 401 with a JSON-RPC error carrying the request id when the token is missing', async () => {
    const { url, front } = await startEndpoint()
    const response = await post(url, INITIALIZE)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/)
    const body = (await response.json()) as { jsonrpc: string; id: unknown; error: { code: number; message: string } }
    expect(body.jsonrpc).toBe('2.0')
    expect(body.id).toBe(7)
    expect(body.error.message).toContain('mcp-mesh http-token')
    expect(front.sessionCount).toBe(0)
  })

  it('answers 401 to a wrong token, a token of another scheme and a token with a suffix', async () => {
    const { url, token } = await startEndpoint()
    for (const authorization of ['Bearer wrong', `Basic ${token}`, `Bearer ${token}x`, `Bearer ${token.slice(1)}`]) {
      const response = await post(url, INITIALIZE, { authorization })
      expect(response.status, authorization).toBe(401)
    }
  })

  it('serves a real MCP client that sends the token', async () => {
    const { url, token, endpoint } = await startEndpoint()
    const { client } = await connect(url, token)
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['ping'])
    const result = (await client.callTool({ name: 'ping', arguments: {} })) as CallToolResult
    expect(result.content).toEqual([{ type: 'text', text: 'pong' }])
    expect(endpoint.sessionCount).toBe(1)
  })

  it('compares tokens exactly and parses only Bearer headers', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true)
    expect(tokenMatches('abc', 'abd')).toBe(false)
    expect(tokenMatches('abc', 'abcd')).toBe(false)
    expect(tokenMatches('abc', undefined)).toBe(false)
    expect(bearerToken('Bearer abc')).toBe('abc')
    expect(bearerToken('bearer  abc ')).toBe('abc')
    expect(bearerToken('Basic abc')).toBeUndefined()
    expect(bearerToken('Bearer a b')).toBeUndefined()
    expect(bearerToken(undefined)).toBeUndefined()
  })
})

describe('Streamable HTTP: Origin and Host', () => {
  it('answers 403 to a non-loopback Origin even with the right token', async () => {
    const { url, token, front } = await startEndpoint()
    for (const origin of ['http://evil.example', 'null', 'http://127.0.0.1.evil.example', 'file://']) {
      const response = await post(url, INITIALIZE, { authorization: `Bearer ${token}`, origin })
      expect(response.status, origin).toBe(403)
    }
    expect(front.sessionCount).toBe(0)
  })

  it('accepts loopback origins with the token', async () => {
    const { url, token } = await startEndpoint()
    for (const origin of ['http://localhost:6274', 'http://127.0.0.1', 'https://[::1]:8443']) {
      const response = await post(url, INITIALIZE, { authorization: `Bearer ${token}`, origin })
      expect(response.status, origin).toBe(200)
      await response.body?.cancel()
    }
  })

  it('keeps refusing a foreign Host header (DNS rebinding)', async () => {
    const { url, token } = await startEndpoint()
    expect(await withHost(url, 'evil.example:80', token)).toBe(403)
    expect(await withHost(url, `localhost:${new URL(url).port}`, token)).toBe(200)
  })

  it('classifies origins and bodies', () => {
    expect(originAllowed(undefined)).toBe(true)
    expect(originAllowed('http://LOCALHOST:3000')).toBe(true)
    expect(originAllowed('http://localhost.evil.example')).toBe(false)
    expect(originAllowed('ws://localhost')).toBe(false)
    const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
    expect(requestId(encode(INITIALIZE))).toBe(7)
    expect(requestId(encode([INITIALIZE]))).toBeNull()
    expect(requestId(new TextEncoder().encode('{not json'))).toBeNull()
    expect(isInitializeBody(encode([INITIALIZE]))).toBe(true)
    expect(isInitializeBody(encode({ jsonrpc: '2.0', id: 1, method: 'tools/list' }))).toBe(false)
  })
})

describe('Streamable HTTP: sessions', () => {
  it('does not create a server for a request without session id that is not initialize', async () => {
    const { url, token, front, endpoint } = await startEndpoint()
    const response = await post(
      url,
      { jsonrpc: '2.0', id: 3, method: 'tools/list' },
      { authorization: `Bearer ${token}` }
    )
    expect(response.status).toBe(400)
    expect(((await response.json()) as { id: unknown }).id).toBe(3)
    const get = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } })
    expect(get.status).toBe(400)
    await get.body?.cancel()
    expect(front.sessionCount).toBe(0)
    expect(endpoint.sessionCount).toBe(0)
  })

  it('closes the server of an initialize the transport refused', async () => {
    const { url, token, front, endpoint } = await startEndpoint()
    const response = await post(
      url,
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} },
      { authorization: `Bearer ${token}` }
    )
    expect(response.status).toBeGreaterThanOrEqual(400)
    await response.body?.cancel()
    expect(front.sessionCount).toBe(0)
    expect(endpoint.sessionCount).toBe(0)
  })

  it('refuses sessions beyond the cap with 503, and accepts again once one is closed', async () => {
    const { url, token, endpoint } = await startEndpoint({ maxSessions: 2 })
    await connect(url, token)
    const second = await connect(url, token)
    const refused = await post(url, INITIALIZE, { authorization: `Bearer ${token}` })
    expect(refused.status).toBe(503)
    const body = (await refused.json()) as { id: unknown; error: { message: string } }
    expect(body.id).toBe(7)
    expect(body.error.message).toContain('too many open sessions')
    await expect(connect(url, token)).rejects.toThrow()
    expect(endpoint.sessionCount).toBe(2)

    await second.transport.terminateSession()
    expect(endpoint.sessionCount).toBe(1)
    await connect(url, token)
    expect(endpoint.sessionCount).toBe(2)
  })

  it('closes a session idle for sessionIdleMs, and its id is then unknown', async () => {
    const { promise: closed, resolve } = Promise.withResolvers<{ id: string; reason: HttpSessionEnd }>()
    const { url, token, front, endpoint } = await startEndpoint({
      sessionIdleMs: 300,
      onSessionClosed: (id, reason) => resolve({ id, reason })
    })
    const { client, transport } = await connect(url, token)
    expect((await client.listTools()).tools).toHaveLength(1)
    const ended = await withTimeout(closed, 10_000, 'the idle session to be closed')
    expect(ended).toEqual({ id: transport.sessionId, reason: 'idle' })
    expect(endpoint.sessionCount).toBe(0)
    expect(front.sessionCount).toBe(0)
    const stale = await post(
      url,
      { jsonrpc: '2.0', id: 9, method: 'tools/list' },
      {
        authorization: `Bearer ${token}`,
        'mcp-session-id': ended.id,
        'mcp-protocol-version': '2025-06-18'
      }
    )
    expect(stale.status).toBe(404)
  })

  it('does not expire a session while a call is being answered', async () => {
    const { promise: callStarted, resolve: started } = Promise.withResolvers<void>()
    const { promise: release, resolve: finish } = Promise.withResolvers<void>()
    const slowView: ToolView = {
      ...view,
      call: async (): Promise<CallToolResult> => {
        started()
        await release
        return { content: [{ type: 'text', text: 'slow pong' }] }
      }
    }
    const home = await createTempDir()
    const front = createFront()
    const closed: string[] = []
    const { promise: otherExpired, resolve: expired } = Promise.withResolvers<void>()
    let otherId: string | undefined
    const endpoint = new HttpEndpoint(front, slowView, {
      home,
      port: 0,
      sessionIdleMs: 500,
      onSessionClosed: (id) => {
        closed.push(id)
        if (id === otherId) expired()
      }
    })
    await endpoint.start()
    track('slow endpoint', async () => endpoint.stop())
    const token = (await readFile(endpoint.tokenPath, 'utf8')).trim()
    const busy = await connect(endpoint.url!, token)
    const call = busy.client.callTool({ name: 'ping', arguments: {} })
    await withTimeout(callStarted, 10_000, 'the call to reach the tool')
    // A second session, idle from now on: its expiry proves a full idle period passed during the call
    // (the busy session's last request before the call ended earlier, so its timer would have fired first).
    const other = await connect(endpoint.url!, token)
    otherId = other.transport.sessionId
    await withTimeout(otherExpired, 10_000, 'the idle session to expire')
    expect(closed).toEqual([otherId])
    finish()
    expect(((await call) as CallToolResult).content).toEqual([{ type: 'text', text: 'slow pong' }])
    expect(endpoint.sessionCount).toBe(1)
  })
})

describe('Streamable HTTP through a node process', () => {
  it('says where the token is, refuses a client without it and serves one with it', async () => {
    const home = await createHome()
    const node = await spawnNode({ home: home.dir, args: ['--http', '0'] })
    const line = await waitFor(() => /http (http:\/\/127\.0\.0\.1:\d+\/mcp) \((.*)\)/.exec(node.stderr()), {
      message: 'the http notice on stderr'
    })
    expect(line[2]).toContain(`mcp-mesh http-token --home ${home.dir}`)
    expect(line[2]).toContain('Authorization: Bearer <token>')
    const url = line[1]!
    const token = (await readFile(`${home.dir}/http.token`, 'utf8')).trim()
    expect((await post(url, INITIALIZE)).status).toBe(401)
    const { client } = await connect(url, token)
    expect((await client.listTools()).tools.some((tool) => tool.name === 'echo')).toBe(true)
  })
})
