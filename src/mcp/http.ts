import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createMcpHandler,
  isLegacyRequest,
  type McpHttpHandler,
  WebStandardStreamableHTTPServerTransport
} from '@modelcontextprotocol/server'
import { errorMessage } from '../util/errors.js'
import { meshLogger, notice } from '../util/logger.js'
import {
  DEFAULT_HTTP_MAX_SESSIONS,
  DEFAULT_HTTP_SESSION_IDLE_MS,
  HTTP_ERROR_BAD_REQUEST,
  HTTP_ERROR_FORBIDDEN,
  HTTP_ERROR_SESSION_NOT_FOUND,
  HTTP_ERROR_TOO_MANY_SESSIONS,
  HTTP_ERROR_UNAUTHORIZED,
  HTTP_HOST,
  HTTP_PATH,
  MAX_HTTP_BODY_BYTES,
  MAX_HTTP_STATELESS_IN_FLIGHT
} from './constants.js'
import type { McpFront } from './front.js'
import {
  allowedHosts,
  hostAllowed,
  idOf,
  isInitializeMessage,
  originAllowed,
  parseBody,
  rpcErrorBody
} from './http-guard.js'
import { bearerToken, httpTokenPath, loadHttpToken, tokenMatches } from './http-token.js'
import type { ToolView } from './view.js'

export { HTTP_HOST, HTTP_PATH, MAX_HTTP_BODY_BYTES }

import { headerValue, readBody, toHeaders, writeResponse } from './http-io.js'
import { type HttpRoute, serveRoute } from './http-routes.js'

export {
  cookieValue,
  type HttpRoute,
  type HttpRouteResponse,
  SESSION_COOKIE,
  sessionCookieValue
} from './http-routes.js'

const log = meshLogger('http')

export type HttpSessionEnd = 'idle' | 'closed'

export interface HttpEndpointInit {
  /** Served beside MCP, each behind the Host and Origin checks and the token (or its cookie). */
  routes?: HttpRoute[]
  /** The node's home: the bearer token lives in `<home>/http.token` (created on first use, mode 0600). */
  home: string
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number
  /** Open sessions at once; a new one beyond it is refused with 503 (default 64). */
  maxSessions?: number
  /** A session with no request in flight for this long is closed (default 15 min). */
  sessionIdleMs?: number
  /**
   * Require the bearer token (default true). `false` is for a loopback test
   * node only (e.g. the MCP conformance suite, which cannot send a header):
   * any local process can then call the node's tools; a warning is printed.
   */
  auth?: boolean
  /** Told when a session ends: closed by the client (DELETE, transport) or expired while idle. */
  onSessionClosed?: (sessionId: string, reason: HttpSessionEnd) => void
}

interface Session {
  readonly transport: WebStandardStreamableHTTPServerTransport
  id?: string
  /** POST and DELETE requests being answered (a POST's SSE response counts until it closes). */
  inFlight: number
  idleTimer?: NodeJS.Timeout
  endReason?: HttpSessionEnd
  ended: boolean
}

/**
 * MCP Streamable HTTP on 127.0.0.1 only. Every request passes, in order: the
 * size cap, the `Host` check (DNS rebinding), the `Origin` check (a browser
 * page may only be a loopback origin) and the bearer token. Then:
 * - a request carrying the 2026-07-28 per-request `_meta` envelope (or the
 *   `MCP-Protocol-Version: 2026-07-28` header) is served statelessly by a
 *   fresh server (`createMcpHandler`, modern only);
 * - anything else is 2025-era traffic, served sessionful (so list_changed and
 *   progress reach the client): only an `initialize` request opens a session;
 *   sessions are capped and closed when idle.
 * Every JSON-RPC error answer carries the request's id.
 */
export class HttpEndpoint {
  readonly #front: McpFront
  readonly #view: ToolView
  readonly #init: HttpEndpointInit
  readonly #maxSessions: number
  readonly #idleMs: number
  readonly #sessions = new Map<string, Session>()
  /** Sessions whose initialize is being answered: counted against the cap. */
  #opening = 0
  #token?: string
  #server?: HttpServer
  readonly #routes: Map<string, HttpRoute>
  #modern?: McpHttpHandler
  /** 2026-07-28 requests being answered (each has its own server until its response ends). */
  #statelessInFlight = 0
  #unlisten?: () => void

  constructor(front: McpFront, view: ToolView, init: HttpEndpointInit) {
    this.#front = front
    this.#view = view
    this.#init = init
    this.#maxSessions = init.maxSessions ?? DEFAULT_HTTP_MAX_SESSIONS
    this.#idleMs = init.sessionIdleMs ?? DEFAULT_HTTP_SESSION_IDLE_MS
    this.#routes = new Map((init.routes ?? []).map((route) => [route.path, route]))
  }

  /** The base URL (`http://127.0.0.1:PORT`) while serving. */
  get origin(): string | undefined {
    const address = this.#server?.address() as AddressInfo | null | undefined
    return address == null ? undefined : `http://${HTTP_HOST}:${address.port}`
  }

  get url(): string | undefined {
    const address = this.#server?.address() as AddressInfo | null | undefined
    return address == null ? undefined : `http://${HTTP_HOST}:${address.port}${HTTP_PATH}`
  }

  /** Where the bearer token is kept (`mcp-mesh http-token` prints it). */
  get tokenPath(): string {
    return httpTokenPath(this.#init.home)
  }

  get sessionCount(): number {
    return this.#sessions.size
  }

  async start(): Promise<void> {
    if (this.#server != null) return
    if (this.#init.auth === false) {
      notice(
        "WARNING: the MCP HTTP endpoint accepts requests WITHOUT a bearer token (mcp.httpAuth: false); any local process can call this node's tools. Use this for a loopback test node only."
      )
    } else {
      this.#token = (await loadHttpToken(this.#init.home)).token
    }
    const modern = createMcpHandler(() => this.#front.createRequestServer(this.#view, { kind: 'local' }), {
      legacy: 'reject',
      maxRequestBodySize: MAX_HTTP_BODY_BYTES,
      onerror: (err) => log('modern request: %s', errorMessage(err))
    })
    this.#modern = modern
    this.#unlisten = this.#front.onToolListChanged(() => modern.notify.toolsChanged())
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        log.error('http request failed: %s', errorMessage(err))
        if (!res.headersSent) res.writeHead(500).end('internal error')
        else res.destroy()
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#init.port, HTTP_HOST, () => {
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
    this.#unlisten?.()
    await this.#modern?.close().catch(() => {})
    this.#modern = undefined
    await Promise.all([...this.#sessions.values()].map(async (session) => this.#close(session, 'closed')))
    this.#sessions.clear()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const port = (this.#server?.address() as AddressInfo | null)?.port ?? this.#init.port
    const url = new URL(req.url ?? '/', `http://${HTTP_HOST}:${port}`)
    const route = this.#routes.get(url.pathname)
    if (route != null) {
      await serveRoute(route, req, res, url, port, this.#token)
      return
    }
    if (url.pathname !== HTTP_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; MCP is served at ${HTTP_PATH}`)
      return
    }
    // The body first, so that every refusal below answers with the request's id.
    const body = await readBody(req)
    if (body === 'too-large') {
      res.writeHead(413, { 'content-type': 'text/plain' }).end('request body too large')
      return
    }
    // Parsed once: the id for every refusal, the era check and the session check read it.
    const parsedBody = parseBody(body)
    const id = idOf(parsedBody)
    if (!hostAllowed(req.headers.host, port)) {
      reply(res, 403, HTTP_ERROR_FORBIDDEN, 'Forbidden: invalid Host header', id)
      return
    }
    const origin = headerValue(req.headers.origin)
    if (!originAllowed(origin)) {
      reply(res, 403, HTTP_ERROR_FORBIDDEN, `Forbidden: Origin ${origin} is not a loopback origin`, id)
      return
    }
    if (
      this.#init.auth !== false &&
      (this.#token == null || !tokenMatches(this.#token, bearerToken(headerValue(req.headers.authorization))))
    ) {
      reply(
        res,
        401,
        HTTP_ERROR_UNAUTHORIZED,
        'Unauthorized: send Authorization: Bearer <token> (print the token with `mcp-mesh http-token`)',
        id,
        { 'www-authenticate': 'Bearer realm="mcp-mesh"' }
      )
      return
    }

    const request = new Request(url, {
      method: req.method,
      headers: toHeaders(req),
      body: body != null && body.byteLength > 0 ? new Uint8Array(body) : undefined
    })
    // 2026-07-28: stateless, one fresh server per request.
    const modern = this.#modern
    if (modern != null && req.method === 'POST') {
      if (!(await isLegacyRequest(request, parsedBody, { maxRequestBodySize: MAX_HTTP_BODY_BYTES }))) {
        if (this.#statelessInFlight >= MAX_HTTP_STATELESS_IN_FLIGHT) {
          reply(
            res,
            503,
            HTTP_ERROR_TOO_MANY_SESSIONS,
            `Service Unavailable: too many requests in progress (limit ${MAX_HTTP_STATELESS_IN_FLIGHT})`,
            id
          )
          return
        }
        this.#statelessInFlight++
        res.once('close', () => this.#statelessInFlight--)
        await writeResponse(await modern.fetch(request, { parsedBody }), res, id)
        return
      }
    }

    const sessionId = headerValue(req.headers['mcp-session-id'])
    let session: Session | undefined
    if (sessionId != null) {
      session = this.#sessions.get(sessionId)
      if (session == null) {
        reply(res, 404, HTTP_ERROR_SESSION_NOT_FOUND, 'Session not found', id)
        return
      }
    } else {
      // Only initialize opens a session: anything else would create a server nobody ever closes.
      if (req.method !== 'POST' || !isInitializeMessage(parsedBody)) {
        reply(
          res,
          400,
          HTTP_ERROR_BAD_REQUEST,
          'Bad Request: Mcp-Session-Id header is required (or send the 2026-07-28 per-request _meta envelope)',
          id
        )
        return
      }
      if (this.#sessions.size + this.#opening >= this.#maxSessions) {
        reply(
          res,
          503,
          HTTP_ERROR_TOO_MANY_SESSIONS,
          `Service Unavailable: too many open sessions (limit ${this.#maxSessions}, mcp.httpMaxSessions); close one or wait for idle ones to expire`,
          id
        )
        return
      }
    }

    if (session == null) {
      this.#opening++
      let opened: Session | undefined
      try {
        opened = await this.#open()
        const response = await opened.transport.handleRequest(request)
        session = opened
        this.#track(session, req, res)
        await writeResponse(response, res, id)
      } finally {
        this.#opening--
        // initialize was refused (bad params, protocol version): no session, so no client will ever close it.
        if (opened != null && opened.id == null) await this.#close(opened, 'closed')
      }
      return
    }
    this.#track(session, req, res)
    const response = await session.transport.handleRequest(request)
    await writeResponse(response, res, id)
  }

  async #open(): Promise<Session> {
    const port = (this.#server!.address() as AddressInfo).port
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      // Checked above too; kept here as a second line of defence.
      enableDnsRebindingProtection: true,
      allowedHosts: allowedHosts(port),
      onsessioninitialized: (id) => {
        session.id = id
        this.#sessions.set(id, session)
      }
    })
    const session: Session = { transport, inFlight: 0, ended: false }
    await this.#front.connect(transport, this.#view, { kind: 'local' }, () => this.#ended(session))
    return session
  }

  /**
   * Counts a POST or DELETE as in flight until its response closes (a long
   * call streaming progress is not idle); the idle clock runs when none is.
   * The standalone GET stream does not count: a client that only listens
   * for notifications is idle.
   */
  #track(session: Session, req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET') return
    session.inFlight++
    clearTimeout(session.idleTimer)
    session.idleTimer = undefined
    res.once('close', () => {
      session.inFlight--
      if (session.inFlight > 0 || session.ended || session.id == null) return
      session.idleTimer = setTimeout(() => {
        log('session %s idle for %d ms; closing it', session.id, this.#idleMs)
        void this.#close(session, 'idle')
      }, this.#idleMs)
      session.idleTimer.unref()
    })
  }

  async #close(session: Session, reason: HttpSessionEnd): Promise<void> {
    session.endReason ??= reason
    clearTimeout(session.idleTimer)
    await session.transport.close().catch(() => {})
    this.#ended(session)
  }

  /** The session's server closed (client DELETE, idle expiry, stop): forget it, once. */
  #ended(session: Session): void {
    if (session.ended) return
    session.ended = true
    clearTimeout(session.idleTimer)
    if (session.id == null) return
    this.#sessions.delete(session.id)
    this.#init.onSessionClosed?.(session.id, session.endReason ?? 'closed')
  }
}

function reply(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  id: string | number | null = null,
  headers: Record<string, string> = {}
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(rpcErrorBody(code, message, id))
}
