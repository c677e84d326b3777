import { createServer } from 'node:net'

/** A configured listen address whose fixed port was taken, and what the node listens on instead. */
export interface ListenFallback {
  /** The configured address, e.g. `/ip4/0.0.0.0/tcp/4011`. */
  configured: string
  /** Its port, which another process holds. */
  takenPort: number
  /** The address actually listened on (port 0: the system picks one). */
  replacement: string
  /** The port the system picked, once the node listens (absent when it could not be told). */
  port?: number
}

const TCP_ADDRESS = /^\/(ip4|ip6)\/([^/]+)\/tcp\/(\d+)(\/.*)?$/

/** Whether `host:port` is free to listen on: false only for EADDRINUSE (other errors are libp2p's to report). */
async function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const server = createServer()
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'EADDRINUSE'))
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => resolve(true))
    })
  })
}

/**
 * Replaces every fixed-port TCP (or WebSocket) listen address whose port is
 * taken by the same address on port 0, so a second node on one machine (or a
 * port held by another program) does not stop the node from starting. The
 * check binds and releases the port just before libp2p listens.
 */
export async function resolveListenPorts(
  listen: readonly string[]
): Promise<{ listen: string[]; fallbacks: ListenFallback[] }> {
  const out: string[] = []
  const fallbacks: ListenFallback[] = []
  for (const address of listen) {
    const match = TCP_ADDRESS.exec(address)
    const port = match == null ? 0 : Number(match[3])
    if (match == null || port === 0 || (await portIsFree(match[2]!, port))) {
      out.push(address)
      continue
    }
    const replacement = `/${match[1]}/${match[2]}/tcp/0${match[4] ?? ''}`
    out.push(replacement)
    fallbacks.push({ configured: address, takenPort: port, replacement })
  }
  return { listen: out, fallbacks }
}

/** Whether a (listen or announced) address is a WebSocket one. */
function isWebSocket(address: string): boolean {
  return /\/wss?(\/|$)/.test(address)
}

/**
 * Fills in the port each fallback got, from the addresses the node listens
 * on: the one of the same kind (TCP or WebSocket) whose port no other
 * configured address of that kind uses.
 */
export function boundFallbackPorts(
  fallbacks: readonly ListenFallback[],
  listen: readonly string[],
  bound: readonly string[]
): ListenFallback[] {
  return fallbacks.map((fallback) => {
    const ws = isWebSocket(fallback.configured)
    const fixed = new Set(
      listen
        .filter((address) => isWebSocket(address) === ws)
        .map((address) => Number(TCP_ADDRESS.exec(address)?.[3] ?? 0))
        .filter((port) => port !== 0)
    )
    const port = bound
      .filter((address) => isWebSocket(address) === ws && address.includes('/tcp/'))
      .map((address) => Number(/\/tcp\/(\d+)/.exec(address)?.[1] ?? 0))
      .find((candidate) => candidate !== 0 && !fixed.has(candidate))
    return port == null ? { ...fallback } : { ...fallback, port }
  })
}

/** The stderr line for a fallback: names the taken port and the new one. */
export function fallbackNotice(fallback: ListenFallback): string {
  const kind = isWebSocket(fallback.configured) ? 'WebSocket' : 'TCP'
  return `${kind} listen port ${fallback.takenPort} (${fallback.configured}) is taken by another process; listening on port ${fallback.port ?? '(random)'} instead. Peers given the old address cannot reach this node until port ${fallback.takenPort} is free again (see addresses.listen).`
}
