import { chmod, rm } from 'node:fs/promises'
import { createServer, type Server as NetServer, type Socket } from 'node:net'
import type { McpFront } from '../mcp/front.js'
import { StreamServerTransport } from '../mcp/stream-server-transport.js'
import type { ToolView } from '../mcp/view.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'

const log = meshLogger('api')

/**
 * The local control endpoint, as kubo's API: the node's MCP endpoint (same
 * tools, local view) on a Unix socket only the owner can open (mode 0600).
 * The CLI and additional stdio clients attach through it.
 */
export class ApiServer {
  readonly path: string
  readonly #front: McpFront
  readonly #view: ToolView
  readonly #onSessionsChanged: (count: number) => void
  #server?: NetServer
  readonly #sockets = new Set<Socket>()

  constructor(path: string, front: McpFront, view: ToolView, onSessionsChanged: (count: number) => void) {
    this.path = path
    this.#front = front
    this.#view = view
    this.#onSessionsChanged = onSessionsChanged
  }

  get sessionCount(): number {
    return this.#sockets.size
  }

  async start(): Promise<void> {
    if (this.#server != null) return
    // The caller holds the repo lock, so a socket file here is stale.
    await rm(this.path, { force: true })
    const server = createServer((socket) => this.#accept(socket))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      // Restrict the socket before it is reachable; chmod below makes it exact.
      const previous = process.umask(0o177)
      server.listen(this.path, () => {
        process.umask(previous)
        server.off('error', reject)
        resolve()
      })
    })
    await chmod(this.path, 0o600)
    this.#server = server
  }

  async stop(): Promise<void> {
    const server = this.#server
    if (server == null) return
    this.#server = undefined
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await rm(this.path, { force: true })
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket)
    this.#onSessionsChanged(this.#sockets.size)
    const transport = new StreamServerTransport(socket, socket)
    let closed = false
    const onClose = (): void => {
      if (closed) return
      closed = true
      this.#sockets.delete(socket)
      socket.destroy()
      this.#onSessionsChanged(this.#sockets.size)
    }
    socket.on('close', () => {
      void transport.close().catch(() => {})
      onClose()
    })
    socket.on('error', (err) => log('api socket error: %s', errorMessage(err)))
    // A 2025 client (initialize) or a 2026-07-28 one (server/discover, per-request _meta) alike.
    this.#front.serveStream(transport, this.#view, { kind: 'local' }, onClose)
  }
}
