import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import type { McpFront } from './front.js'
import type { ToolView } from './view.js'

const log = meshLogger('http')

export const HTTP_HOST = '127.0.0.1'
export const HTTP_PATH = '/mcp'
/** Largest accepted request body; larger ones get 413 before the MCP layer sees them. */
export const MAX_HTTP_BODY_BYTES = 4 * 1024 * 1024

/**
 * MCP Streamable HTTP on 127.0.0.1 only, sessionful (so list_changed and
 * progress reach the client), with DNS-rebinding protection: only localhost
 * Host headers are served.
 */
export class HttpEndpoint {
  readonly #front: McpFront
  readonly #view: ToolView
  readonly #port: number
  readonly #sessions = new Map<string, WebStandardStreamableHTTPServerTransport>()
  #server?: HttpServer

  constructor(front: McpFront, view: ToolView, port: number) {
    this.#front = front
    this.#view = view
    this.#port = port
  }

  get url(): string | undefined {
    const address = this.#server?.address() as AddressInfo | null | undefined
    return address == null ? undefined : `http://${HTTP_HOST}:${address.port}${HTTP_PATH}`
  }

  get sessionCount(): number {
    return this.#sessions.size
  }

  async start(): Promise<void> {
    if (this.#server != null) return
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        log.error('http request failed: %s', errorMessage(err))
        if (!res.headersSent) res.writeHead(500).end('internal error')
        else res.destroy()
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#port, HTTP_HOST, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.#server = server
  }

  async stop(): Promise<void> {
    const server = this.#server
    if (server == null) return
    this.#server = undefined
    await Promise.all([...this.#sessions.values()].map(async (transport) => transport.close().catch(() => {})))
    this.#sessions.clear()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? HTTP_HOST}`)
    if (url.pathname !== HTTP_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; MCP is served at ${HTTP_PATH}`)
      return
    }
    const body = await readBody(req)
    if (body === 'too-large') {
      res.writeHead(413, { 'content-type': 'text/plain' }).end('request body too large')
      return
    }
    const sessionId = headerValue(req.headers['mcp-session-id'])
    let transport = sessionId != null ? this.#sessions.get(sessionId) : undefined
    if (transport == null) {
      if (sessionId != null) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }))
        return
      }
      transport = await this.#newSession()
    }
    const request = new Request(url, {
      method: req.method,
      headers: toHeaders(req),
      body: body != null && body.byteLength > 0 ? new Uint8Array(body) : undefined
    })
    const response = await transport.handleRequest(request)
    await writeResponse(response, res)
  }

  async #newSession(): Promise<WebStandardStreamableHTTPServerTransport> {
    const port = (this.#server!.address() as AddressInfo).port
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      enableDnsRebindingProtection: true,
      allowedHosts: [`${HTTP_HOST}:${port}`, `localhost:${port}`, HTTP_HOST, 'localhost'],
      onsessioninitialized: (id) => {
        this.#sessions.set(id, transport)
      },
      onsessionclosed: (id) => {
        this.#sessions.delete(id)
      }
    })
    await this.#front.connect(transport, this.#view, { kind: 'local' }, () => {
      if (transport.sessionId != null) this.#sessions.delete(transport.sessionId)
    })
    return transport
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

function toHeaders(req: IncomingMessage): Headers {
  const headers = new Headers()
  for (const [key, value] of Object.entries(req.headers)) {
    if (value == null) continue
    if (Array.isArray(value)) for (const item of value) headers.append(key, item)
    else headers.set(key, value)
  }
  return headers
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large' | undefined> {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE') return undefined
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength
    if (size > MAX_HTTP_BODY_BYTES) return 'too-large'
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

async function writeResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, key) => {
    headers[key] = value
  })
  res.writeHead(response.status, headers)
  if (response.body == null) {
    res.end()
    return
  }
  const reader = response.body.getReader()
  res.on('close', () => {
    void reader.cancel().catch(() => {})
  })
  // SSE responses stay open; flush each chunk as it comes.
  for (;;) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }))
    if (done) break
    if (value != null && !res.write(value)) await new Promise<void>((resolve) => res.once('drain', resolve))
  }
  res.end()
}
