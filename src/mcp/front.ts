import {
  type CallToolResult,
  type JSONRPCMessage,
  type JSONRPCRequest,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type Transport
} from '@modelcontextprotocol/server'
import type { z } from 'zod'
import { AGENT_NAME } from '../interface/version.js'
import { VERSION } from '../interface/version.js'
import { RUNTIME_OVERRIDE_META_KEY } from '../router/constants.js'
import { isRuntime } from '../router/router.js'
import { errorResult } from '../tools/define.js'
import { InvalidToolArgumentsError, UnknownToolError } from '../tools/errors.js'
import type { JsonObject, ToolCaller } from '../tools/types.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import type { ToolView } from './view.js'

const log = meshLogger('mcp')

export interface McpFrontInit {
  name: string
  version: string
  instructions?: string
}

/** Context of a peer-only JSON-RPC method (task hand-over, claims, heartbeats). */
export interface PeerMethodContext {
  peerId: string
  signal: AbortSignal
  /** Sends a notification related to this request (e.g. progress as a lease heartbeat). */
  notify: (method: string, params: Record<string, unknown>) => Promise<void>
  progressToken?: string | number
}

export interface PeerMethod {
  method: string
  params: z.ZodType
  handler: (params: unknown, ctx: PeerMethodContext) => Promise<Record<string, unknown>>
}

/** A transport that can hand a request to the front instead of the SDK (the /mcp+p2p stream). */
interface InterceptingTransport extends Transport {
  intercept(taker: ((request: JSONRPCRequest) => AbortController | undefined) | undefined): void
}

function isIntercepting(transport: Transport): transport is InterceptingTransport {
  return typeof (transport as Partial<InterceptingTransport>).intercept === 'function'
}

export interface McpSession {
  readonly server: Server
  close(): Promise<void>
}

/**
 * The node's MCP face. Every connection (stdio, Streamable HTTP, the local API
 * socket, a peer stream) gets its own low-level `Server` bound to a ToolView,
 * so one node serves different tool sets to its user and to its peers.
 */
export class McpFront {
  readonly #init: McpFrontInit
  readonly #sessions = new Set<McpSession>()
  readonly #peerMethods = new Map<string, PeerMethod>()
  #ready: Promise<unknown> = Promise.resolve()
  #listChangedTimer?: NodeJS.Timeout

  constructor(init: McpFrontInit) {
    this.#init = init
  }

  get sessionCount(): number {
    return this.#sessions.size
  }

  /**
   * Requests wait for `ready` before touching tools, so a session can be
   * connected (and `initialize` answered) while the node is still starting.
   * If `ready` rejects, requests fail with an internal error naming the reason.
   */
  gate(ready: Promise<unknown>): void {
    this.#ready = ready
    ready.catch(() => {})
  }

  async #whenReady(): Promise<void> {
    try {
      await this.#ready
    } catch (err) {
      throw new ProtocolError(ProtocolErrorCode.InternalError, `the node failed to start: ${errorMessage(err)}`)
    }
  }

  /**
   * Adds a JSON-RPC method that only peers' sessions (over /mcp+p2p) answer;
   * `params` is validated with zod before the handler runs. Applies to
   * sessions opened after the call.
   */
  addPeerMethod(method: PeerMethod): void {
    this.#peerMethods.set(method.method, method)
  }

  removePeerMethod(name: string): void {
    this.#peerMethods.delete(name)
  }

  createServer(view: ToolView, caller: ToolCaller): Server {
    const server = new Server(
      { name: this.#init.name, version: this.#init.version },
      {
        capabilities: { tools: { listChanged: true }, logging: {} },
        instructions: this.#init.instructions
      }
    )
    server.setRequestHandler('tools/list', async () => {
      await this.#whenReady()
      return { tools: view.list() }
    })
    server.setRequestHandler('tools/call', async (request, ctx) =>
      this.#callTool(server, view, caller, request.params, ctx.mcpReq.signal, async (notification) =>
        ctx.mcpReq.notify(notification)
      )
    )
    if (caller.kind === 'peer') {
      for (const peerMethod of this.#peerMethods.values()) {
        server.setRequestHandler(peerMethod.method, { params: peerMethod.params }, async (params, ctx) => {
          const meta = (params as { _meta?: { progressToken?: string | number } })._meta
          return peerMethod.handler(params, {
            peerId: caller.peerId,
            signal: ctx.mcpReq.signal,
            progressToken: meta?.progressToken,
            notify: async (method, notificationParams) => ctx.mcpReq.notify({ method, params: notificationParams })
          })
        })
      }
    }
    return server
  }

  /** tools/call, for the SDK's handler and for the fast path of transports that offer one. */
  async #callTool(
    server: Server,
    view: ToolView,
    caller: ToolCaller,
    params: { name: string; arguments?: Record<string, unknown>; _meta?: Record<string, unknown> },
    signal: AbortSignal,
    notify: (notification: { method: 'notifications/progress'; params: Record<string, unknown> }) => Promise<void>
  ): Promise<CallToolResult> {
    await this.#whenReady()
    const { name, arguments: args } = params
    const meta = params._meta as Record<string, unknown> | undefined
    const progressToken = meta?.progressToken
    const overrideValue = meta?.[RUNTIME_OVERRIDE_META_KEY]
    if (overrideValue != null && !isRuntime(overrideValue)) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `_meta["${RUNTIME_OVERRIDE_META_KEY}"] must be one of local, mesh, auto`
      )
    }
    let result: CallToolResult
    try {
      result = await view.call(name, (args ?? {}) as JsonObject, {
        signal,
        caller,
        override: overrideValue ?? undefined,
        meta,
        reportProgress: (progress) => {
          if (progressToken == null || signal.aborted) return
          notify({ method: 'notifications/progress', params: { progressToken, ...progress } }).catch((err: unknown) =>
            log('progress notification failed: %s', errorMessage(err))
          )
        }
      })
    } catch (err) {
      if (err instanceof UnknownToolError) throw new ProtocolError(ProtocolErrorCode.InvalidParams, err.message)
      if (err instanceof InvalidToolArgumentsError) {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, err.message, { issues: err.issues })
      }
      if (err instanceof ProtocolError) throw err
      log.error('tool %s failed: %s', name, errorMessage(err))
      result = errorResult(errorMessage(err))
    }
    const listed = result.isError === true ? undefined : view.describe(name)
    return server.projectCallToolResult(result, listed?.outputSchema as JsonObject | undefined) as CallToolResult
  }

  /**
   * The tools/call fast path (perf): a transport that can hand requests over
   * (the /mcp+p2p stream) gets its initialized session's tools/call answered
   * here, with the same checks and results as the SDK's handler but without
   * its per-request work. Anything unusual is left to the SDK.
   */
  #fastPath(server: Server, view: ToolView, caller: ToolCaller, transport: InterceptingTransport): void {
    transport.intercept((request) => {
      if (request.method !== 'tools/call' || server.getClientVersion() == null) return undefined
      const params = request.params as Record<string, unknown> | undefined
      if (typeof params?.name !== 'string') return undefined
      const args = params.arguments
      if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) return undefined
      const controller = new AbortController()
      const { id } = request
      const reply = async (message: JSONRPCMessage): Promise<void> => {
        if (!controller.signal.aborted) await transport.send(message)
      }
      this.#callTool(
        server,
        view,
        caller,
        params as { name: string; arguments?: Record<string, unknown> },
        controller.signal,
        async (notification) => transport.send({ jsonrpc: '2.0', ...notification })
      )
        .then(
          async (result) => reply({ jsonrpc: '2.0', id, result }),
          async (err: { code?: unknown; message?: unknown; data?: unknown }) =>
            reply({
              jsonrpc: '2.0',
              id,
              error: {
                code: Number.isSafeInteger(err?.code) ? (err.code as number) : ProtocolErrorCode.InternalError,
                message: typeof err?.message === 'string' ? err.message : 'Internal error',
                ...(err?.data !== undefined && { data: err.data })
              }
            })
        )
        .catch((err: unknown) => log('tools/call reply failed: %s', errorMessage(err)))
      return controller
    })
  }

  /** Connects a transport to a fresh server for `view`; the session ends when the transport closes. */
  async connect(transport: Transport, view: ToolView, caller: ToolCaller, onClose?: () => void): Promise<McpSession> {
    const server = this.createServer(view, caller)
    const session: McpSession = {
      server,
      close: async () => {
        await server.close().catch(() => {})
      }
    }
    this.#sessions.add(session)
    const previous = transport.onclose
    server.onclose = () => {
      this.#sessions.delete(session)
      previous?.()
      onClose?.()
    }
    server.onerror = (err) => log('session error: %s', errorMessage(err))
    await server.connect(transport)
    if (isIntercepting(transport)) this.#fastPath(server, view, caller, transport)
    return session
  }

  /**
   * Tells every session its tool list changed. Coalesced over a short window
   * so a burst (a peer joining with 50 tools) is one notification.
   */
  notifyToolListChanged(): void {
    if (this.#listChangedTimer != null) return
    this.#listChangedTimer = setTimeout(() => {
      this.#listChangedTimer = undefined
      for (const session of this.#sessions) {
        session.server.sendToolListChanged().catch(() => {})
      }
    }, 25)
    this.#listChangedTimer.unref()
  }

  async close(): Promise<void> {
    clearTimeout(this.#listChangedTimer)
    await Promise.all([...this.#sessions].map(async (session) => session.close()))
    this.#sessions.clear()
  }
}

/** The node's front, with the name, version and instructions every session announces. */
export function createFront(): McpFront {
  return new McpFront({
    name: AGENT_NAME,
    version: VERSION,
    instructions:
      'mcp-mesh node: tools of this node and of its libp2p mesh peers. Tool descriptions say where a tool runs.'
  })
}
