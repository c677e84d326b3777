import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { hostAllowed } from '../mcp/http-guard.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { METRICS_HOST, METRICS_PATH } from './constants.js'
import { MetricsListenError } from './errors.js'

const log = meshLogger('metrics')

export interface MetricsPage {
  contentType: string
  body: string
}

/** Whether a request's `Authorization` header carries the node's bearer token. */
export type MetricsAuthorizer = (authorization: string | undefined) => Promise<boolean>

/**
 * `--metrics PORT`: `/metrics` alone on its own port, 127.0.0.1 only, for a
 * Prometheus scraper that does not speak MCP. GET only, the `Host` header
 * must be a loopback name (DNS rebinding), and the request must carry the
 * node's bearer token like every other local surface (Prometheus:
 * `authorization: { credentials_file: <home>/http.token }`): metrics name
 * peers and tools, which other local users are not to see.
 */
export class MetricsServer {
  readonly #port: number
  readonly #render: () => Promise<MetricsPage>
  readonly #authorize: MetricsAuthorizer
  #server?: Server

  constructor(port: number, render: () => Promise<MetricsPage>, authorize: MetricsAuthorizer) {
    this.#port = port
    this.#render = render
    this.#authorize = authorize
  }

  get url(): string | undefined {
    const address = this.#server?.address() as AddressInfo | null | undefined
    return address == null ? undefined : `http://${METRICS_HOST}:${address.port}${METRICS_PATH}`
  }

  async start(): Promise<void> {
    if (this.#server != null) return
    const server = createServer((req, res) => {
      const port = (server.address() as AddressInfo).port
      const path = new URL(req.url ?? '/', `http://${METRICS_HOST}`).pathname
      if (!hostAllowed(req.headers.host, port)) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden: Host must be 127.0.0.1 or localhost')
        return
      }
      if (path !== METRICS_PATH) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; metrics are at ${METRICS_PATH}`)
        return
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed')
        return
      }
      this.#authorize(req.headers.authorization)
        .then(async (authorized) => {
          if (!authorized) {
            res
              .writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' })
              .end('unauthorized: send Authorization: Bearer <token> (mcp-mesh http-token)')
            return
          }
          const page = await this.#render()
          res.writeHead(200, { 'content-type': page.contentType }).end(req.method === 'HEAD' ? undefined : page.body)
        })
        .catch((err: unknown) => {
          log.error('rendering metrics failed: %s', errorMessage(err))
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
          res.end('internal error')
        })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new MetricsListenError(this.#port, errorMessage(err))))
      server.listen(this.#port, METRICS_HOST, () => resolve())
    })
    this.#server = server
  }

  async stop(): Promise<void> {
    const server = this.#server
    if (server == null) return
    this.#server = undefined
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
