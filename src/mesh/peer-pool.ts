import type { PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { Client, type JSONRPCMessage } from '@modelcontextprotocol/client'
import { VERSION } from '../interface/version.js'
import { churnRequestMaps } from '../mcp/request-maps.js'
import { LogRelays } from '../tools/call-relay.js'
import { answerInCallerContext, askCallerInput } from '../tools/input-scope.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { parsePeerId } from '../util/peer-id.js'
import { CONNECT_TIMEOUT_MS, MCP_P2P_PROTOCOL } from './constants.js'
import { PeerUnreachableError } from './errors.js'
import type { PartialFrameBudget } from './frame-budget.js'
import { P2PStreamTransport, type ProtocolViolation } from './p2p-transport.js'

const log = meshLogger('mcp+p2p:pool')

export interface PeerPoolInit {
  maxFrameBytes: number
  idleTimeoutMs: number
  /** Deadline and shared budgets for partial frames, as on inbound streams. */
  frameTimeoutMs?: number
  budget?: PartialFrameBudget
  onViolation?: (kind: ProtocolViolation, detail: string) => void
}

interface PooledClient {
  client: Client
  transport: P2PStreamTransport
}

/**
 * One long-lived, multiplexed `/mcp+p2p` stream (with an initialized MCP
 * client) per remote peer. Concurrent callers share the pending dial; a
 * closed or failed stream is dropped and the next call re-opens it.
 */
export class PeerPool {
  readonly #libp2p: Libp2p
  readonly #init: PeerPoolInit
  readonly #entries = new Map<string, Promise<PooledClient>>()
  /** What each entry resolved to, keyed by the entry (so a dropped or replaced entry's client is never handed out). */
  readonly #settled = new WeakMap<Promise<PooledClient>, PooledClient>()
  #opened = 0
  #closed = false
  /**
   * Log channels of the calls in flight to peers: a call is tagged
   * (`_meta["mcp-mesh/relay"]`) and the peer sends its log messages back
   * with the tag, so each reaches the caller of its own call.
   */
  readonly logs = new LogRelays('relay')

  constructor(libp2p: Libp2p, init: PeerPoolInit) {
    this.#libp2p = libp2p
    this.#init = init
  }

  get size(): number {
    return this.#entries.size
  }

  /** Streams opened since start (a reused stream is counted once). */
  get opened(): number {
    return this.#opened
  }

  has(peer: string): boolean {
    return this.#entries.has(peer)
  }

  /**
   * The peer's client, opening its stream on first use. A peer given as a
   * string is parsed only when a stream must be opened (not per call).
   */
  async get(peer: PeerId | string, options: { signal?: AbortSignal } = {}): Promise<Client> {
    return (await this.#entry(peer, options.signal)).client
  }

  /**
   * The peer's client when its stream is already open (what `get` would
   * resolve to, without a promise per call), else undefined: then `get`.
   */
  ready(peer: string): Client | undefined {
    if (this.#closed) return undefined
    const entry = this.#entries.get(peer)
    return entry != null ? this.#settled.get(entry)?.client : undefined
  }

  /**
   * The peer's stream transport (initialized by its client), for direct
   * requests on the hot path (`P2PStreamTransport.request`).
   */
  async transport(peer: PeerId | string, options: { signal?: AbortSignal } = {}): Promise<P2PStreamTransport> {
    return (await this.#entry(peer, options.signal)).transport
  }

  async #entry(peer: PeerId | string, signal?: AbortSignal): Promise<PooledClient> {
    const key = peer.toString()
    if (this.#closed) throw new PeerUnreachableError(key, 'the node is stopping')
    let entry = this.#entries.get(key)
    if (entry == null) {
      const opening = this.#open(peer, signal)
      entry = opening
      this.#entries.set(key, opening)
      opening.then(
        (pooled) => void this.#settled.set(opening, pooled),
        () => {
          if (this.#entries.get(key) === opening) this.#entries.delete(key)
        }
      )
    }
    return entry
  }

  /** Drops a peer's stream (after a transport failure) so the next call re-opens it. */
  async drop(peer: string): Promise<void> {
    const entry = this.#entries.get(peer)
    this.#entries.delete(peer)
    const pooled = await entry?.catch(() => undefined)
    await pooled?.client.close().catch(() => {})
  }

  async close(): Promise<void> {
    this.#closed = true
    const entries = [...this.#entries.keys()]
    await Promise.all(entries.map(async (peer) => this.drop(peer)))
  }

  async #open(target: PeerId | string, signal?: AbortSignal): Promise<PooledClient> {
    const key = target.toString()
    const peer = typeof target === 'string' ? parsePeerId(target) : target
    const timeout = AbortSignal.timeout(CONNECT_TIMEOUT_MS)
    const dialSignal = signal != null ? AbortSignal.any([signal, timeout]) : timeout
    let stream: Awaited<ReturnType<Libp2p['dialProtocol']>>
    const started = Date.now()
    try {
      stream = await this.#libp2p.dialProtocol(peer, MCP_P2P_PROTOCOL, {
        signal: dialSignal,
        runOnLimitedConnection: true
      })
    } catch (err) {
      throw new PeerUnreachableError(key, errorMessage(err), { cause: err })
    }
    const dialled = Date.now()
    stream.inactivityTimeout = this.#init.idleTimeoutMs
    const transport = new P2PStreamTransport(stream, {
      maxFrameBytes: this.#init.maxFrameBytes,
      peer: key,
      frameTimeoutMs: this.#init.frameTimeoutMs,
      budget: this.#init.budget,
      onViolation: this.#init.onViolation
    })
    // The newest revision both sides speak: 2026-07-28 when the peer answers server/discover,
    // else the legacy initialize (deployed MCP++ peers). Input the peer's tools ask for goes
    // to the caller of the call in progress.
    const client = new Client(
      { name: 'mcp-mesh', version: VERSION },
      {
        versionNegotiation: { mode: 'auto', probe: { timeoutMs: CONNECT_TIMEOUT_MS } },
        capabilities: { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} }
      }
    )
    // Requests that do not take the fast path (src/mesh/fast-client-call.ts) go through these.
    churnRequestMaps(client)
    for (const method of ['elicitation/create', 'sampling/createMessage', 'roots/list'] as const) {
      client.setRequestHandler(
        method,
        async (request, ctx) =>
          (await askCallerInput({ method, params: request.params, signal: ctx.mcpReq.signal })) as never
      )
    }
    client.setNotificationHandler('notifications/message', (notification) => {
      if (!this.logs.deliver(notification.params as Record<string, unknown>))
        log('log message of %s outside a call', key)
    })
    const pooled: PooledClient = { client, transport }
    client.onclose = () => {
      log('stream to %s closed', key)
      // The entry may still be pending (the stream closed during initialize)
      // and then rejects: that rejection is the caller's, not this handler's.
      this.#entries.get(key)?.then(
        (current) => {
          if (current === pooled) this.#entries.delete(key)
        },
        () => {}
      )
    }
    try {
      await client.connect(transport, { signal: dialSignal, timeout: CONNECT_TIMEOUT_MS })
    } catch (err) {
      stream.abort(err as Error)
      throw new PeerUnreachableError(key, `MCP initialize failed: ${errorMessage(err)}`, { cause: err })
    }
    relayProgressBeforeResults(transport)
    answerInCallerContext(transport)
    this.#opened++
    log('opened %s: stream %d ms, initialize %d ms', key, dialled - started, Date.now() - dialled)
    return pooled
  }
}

/**
 * The SDK client handles a response at once but a notification one step
 * later, so a progress or log notification read together with its result was
 * dropped (its handler already gone). After such a notification, the next
 * response waits one turn of the event loop.
 */
function relayProgressBeforeResults(transport: P2PStreamTransport): void {
  const deliver = transport.onmessage
  if (deliver == null) return
  let progressPending = false
  transport.onmessage = (message: JSONRPCMessage) => {
    if ('method' in message) {
      if (message.method === 'notifications/progress' || message.method === 'notifications/message') {
        progressPending = true
      }
      deliver(message)
    } else if ('id' in message && progressPending) {
      progressPending = false
      setImmediate(() => deliver(message))
    } else {
      deliver(message)
    }
  }
}
