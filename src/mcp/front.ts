import {
  CLIENT_CAPABILITIES_META_KEY,
  type CallToolResult,
  type ClientCapabilities,
  isInputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type ServerContext,
  type Transport
} from '@modelcontextprotocol/server'
import { serveStdio } from '@modelcontextprotocol/server/stdio'
import type { z } from 'zod'
import { AGENT_NAME } from '../interface/version.js'
import { VERSION } from '../interface/version.js'
import { RUNTIME_OVERRIDE_META_KEY } from '../router/constants.js'
import { isRuntime } from '../router/router.js'
import { errorResult } from '../tools/define.js'
import { InvalidToolArgumentsError, UnknownToolError } from '../tools/errors.js'
import { CALL_RELAY_META_KEY } from '../tools/call-relay.js'
import type { JsonObject, LogMessage, ToolCaller, ToolProgress } from '../tools/types.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { registerContentHandlers } from './content-handlers.js'
import { canIntercept, envelopeKey, fastToolCalls, type ToolCallHandler } from './fast-call.js'
import { InputRounds, type RoundContext } from './input-rounds.js'
import type { ContentSource, ToolView, ViewCallContext } from './view.js'

import { ERROR_CODE_BUSY } from '../interface/error-codes.js'
import { MalformedRequestError } from './errors.js'
import { churnRequestMaps } from './request-maps.js'

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

/** One tools/call as the front received it (before routing). */
export interface ToolCallInfo {
  name: string
  caller: ToolCaller
  /** The request's `_meta` (trace context, progress token, runtime override). */
  meta?: Record<string, unknown>
}

/**
 * Observes the calls the front answers (the node's metrics and tracing):
 * `toolCall` wraps running one call, so it can time it and run it in the
 * call's trace context. It must call `run` exactly once and return (or throw)
 * what `run` does.
 */
export interface FrontInstrumentation {
  toolCall(info: ToolCallInfo, run: () => Promise<CallToolResult>): Promise<CallToolResult>
}

const NO_INSTRUMENTATION: FrontInstrumentation = { toolCall: async (_info, run) => run() }

export interface McpSession {
  readonly server: Server
  close(): Promise<void>
}

/** A stream connection served in the era its client opens with (see `McpFront.serveStream`). */
export interface McpStreamSession {
  /** Resolves once the client opened (a 2025 `initialize` or a 2026-07-28 request arrived). */
  readonly opened: Promise<void>
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
  readonly #listChangedListeners = new Set<() => void>()
  readonly #rounds = new InputRounds()
  /** Resources each session subscribed to (2025 sessions; 2026-07-28 has no resources/subscribe). */
  readonly #subscriptions = new WeakMap<Server, Set<string>>()
  /** The last `_meta` envelope the SDK validated on each session (the tools/call fast path's key on 2026-07-28). */
  readonly #validatedEnvelopes = new WeakMap<Server, string>()
  /** The tools/call handler registered on each server (the fast path runs it with the request parsed once). */
  readonly #toolCallHandlers = new WeakMap<Server, ToolCallHandler>()
  #peerContent?: (peerId: string) => ContentSource | undefined
  #ready: Promise<unknown> = Promise.resolve()
  /** Whether `#ready` has resolved (a peer's request is refused busy until then). */
  #settled = true
  #instrumentation: FrontInstrumentation = NO_INSTRUMENTATION
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
    this.#settled = false
    ready.then(
      () => {
        if (this.#ready === ready) this.#settled = true
      },
      () => {}
    )
  }

  /**
   * Set once by the composition root (like `gate`): the front is created
   * before the node (stdio answers initialize while the node starts), so
   * the node's metrics and tracing are attached here.
   */
  instrument(instrumentation: FrontInstrumentation): void {
    this.#instrumentation = instrumentation
  }

  async #whenReady(caller?: ToolCaller): Promise<void> {
    // A peer's request is not parked while the node starts (nothing would
    // bound how many wait): it is answered busy, and the peer tries later.
    if (caller?.kind === 'peer' && !this.#settled) {
      throw new ProtocolError(ERROR_CODE_BUSY, 'busy: the node is starting')
    }
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

  /**
   * Shares prompts, resources and completions with peers' sessions opened
   * after the call: `content(peer)` is what that peer may see (undefined: none).
   */
  sharePeerContent(content: (peerId: string) => ContentSource | undefined): void {
    this.#peerContent = content
  }

  createServer(view: ToolView, caller: ToolCaller): Server {
    const content = caller.kind === 'peer' ? this.#peerContent?.(caller.peerId) : view.content?.()
    const server = new Server(
      { name: this.#init.name, version: this.#init.version },
      {
        capabilities: {
          tools: { listChanged: true },
          logging: {},
          ...(content != null ? { prompts: {}, resources: { subscribe: true }, completions: {} } : {})
        },
        instructions: this.#init.instructions,
        // requestState of input_required rounds: sealed by this front, refused when tampered or expired.
        requestState: { verify: this.#rounds.verify }
      }
    )
    // Its per-request maps outlive every request (the tools/call fast path uses one too).
    churnRequestMaps(server)
    server.setRequestHandler('tools/list', async () => {
      await this.#whenReady(caller)
      return { tools: view.list() }
    })
    const onCall: ToolCallHandler = async (request, ctx) => {
      const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined
      if (envelope != null) {
        const key = envelopeKey(envelope)
        if (key !== undefined) this.#validatedEnvelopes.set(server, key)
      }
      // Once the node is up, nothing to wait for (one await less per call).
      if (!this.#settled) await this.#whenReady(caller)
      const { name, arguments: args } = request.params
      const meta = request.params._meta as Record<string, unknown> | undefined
      const overrideValue = meta?.[RUNTIME_OVERRIDE_META_KEY]
      if (overrideValue != null && !isRuntime(overrideValue)) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `_meta["${RUNTIME_OVERRIDE_META_KEY}"] must be one of local, mesh, auto`
        )
      }
      const call = (callCtx: CallContext): Promise<CallToolResult> =>
        this.#callTool(view, name, (args ?? {}) as JsonObject, {
          signal: callCtx.signal,
          controller: callCtx.controller,
          caller,
          override: overrideValue ?? undefined,
          meta,
          reportProgress: callCtx.reportProgress,
          requestInput: callCtx.requestInput === noInput ? undefined : callCtx.requestInput,
          log: relayLog
        })
      const reportProgress = progressReporter(ctx, meta?.progressToken as string | number | undefined)
      const relayLog = logRelay(ctx, caller.kind === 'peer' ? meta?.[CALL_RELAY_META_KEY] : undefined)
      const capabilities = clientCapabilities(server, ctx)
      // A peer that can answer no input request (queue hand-overs, MCP++ peers) runs straight
      // through; a local client always has rounds, so a request it cannot answer is -32021.
      const result =
        caller.kind === 'local' || canBeAsked(capabilities)
          ? await this.#rounds.serve<CallToolResult>(ctx, capabilities, reportProgress, call)
          : await call({ signal: ctx.mcpReq.signal, reportProgress, requestInput: noInput })
      if (isInputRequiredResult(result)) return result
      const listed = view.describe(name)
      const outputSchema = listed?.outputSchema as JsonObject | undefined
      return server.projectCallToolResult(
        result.isError === true ? withoutStructuredContent(result, outputSchema) : result,
        result.isError === true ? undefined : outputSchema
      )
    }
    server.setRequestHandler('tools/call', onCall)
    this.#toolCallHandlers.set(server, onCall)
    if (content != null) {
      const subscriptions = new Set<string>()
      this.#subscriptions.set(server, subscriptions)
      registerContentHandlers(server, content, {
        rounds: this.#rounds,
        whenReady: async () => this.#whenReady(caller),
        capabilities: (ctx) => clientCapabilities(server, ctx),
        subscriptions
      })
    }
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

  /** One call, through the instrumentation and the view; a rejection is mapped as SEP-1303 says (`callFailure`). */
  #callTool(view: ToolView, name: string, args: JsonObject, ctx: ViewCallContext): Promise<CallToolResult> {
    let called: Promise<CallToolResult>
    try {
      // No callerInput.run here: the clients that forward a call (to a peer, to a shared server)
      // set it around their own requests (src/tools/input-scope.ts says why).
      called = this.#instrumentation.toolCall({ name, caller: ctx.caller, meta: ctx.meta }, () =>
        view.call(name, args, ctx)
      )
    } catch (err) {
      called = Promise.reject(err)
    }
    // Plain callbacks rather than an async function with try/catch: one promise and hop less per call.
    return called.then(undefined, (err: unknown) => callFailure(name, err))
  }

  /** Connects a transport to a fresh server for `view`; the session ends when the transport closes. */
  async connect(transport: Transport, view: ToolView, caller: ToolCaller, onClose?: () => void): Promise<McpSession> {
    const server = this.createServer(view, caller)
    const previous = transport.onclose
    const session = this.#track(server, () => {
      previous?.()
      onClose?.()
    })
    await server.connect(transport)
    return session
  }

  /**
   * Serves one stream connection (stdio, the local API socket) in whichever
   * revision its client speaks: a 2025 client opens with `initialize` and is
   * served by one sessionful server; a 2026-07-28 client sends
   * `server/discover` or any request carrying the per-request `_meta`
   * envelope (protocol version, client capabilities) and is served
   * statelessly, `notifications/tools/list_changed` reaching it through
   * `subscriptions/listen`. The SDK's `serveStdio` makes that decision.
   */
  serveStream(transport: Transport, view: ToolView, caller: ToolCaller, onClose?: () => void): McpStreamSession {
    const { promise: opened, resolve: open } = Promise.withResolvers<void>()
    const handle = serveStdio(
      ({ era }) => {
        const { server } = this.#track(this.createServer(view, caller))
        // A repeated tools/call skips the SDK's routing (fast-call.ts): on the node's stdio and API
        // socket in either era, on a peer's /mcp+p2p stream once pinned to 2026-07-28.
        if (canIntercept(transport)) {
          transport.intercept(
            caller.kind === 'local' || era === 'modern'
              ? fastToolCalls(server, () => this.#validatedEnvelopes.get(server), this.#toolCallHandlers.get(server))
              : undefined
          )
        }
        // A 2026-07-28 opening has no initialized notification: its first request is the opening.
        if (era === 'modern') open()
        else server.oninitialized = () => open()
        return server
      },
      { transport, onerror: (err) => log('session error: %s', errorMessage(err)) }
    )
    // serveStdio owns the transport's callbacks: chain ours after its own.
    const owned = transport.onclose
    transport.onclose = () => {
      owned?.()
      open()
      onClose?.()
    }
    return { opened, close: async () => handle.close() }
  }

  /** A per-request or per-connection server, counted as a session until it closes (then `onClose` runs). */
  #track(server: Server, onClose?: () => void): McpSession {
    const session: McpSession = { server, close: async () => server.close().catch(() => {}) }
    this.#sessions.add(session)
    server.onclose = () => {
      this.#sessions.delete(session)
      onClose?.()
    }
    server.onerror = (err) => log('session error: %s', errorMessage(err))
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
      for (const listener of this.#listChangedListeners) listener()
    }, 25)
    this.#listChangedTimer.unref()
  }

  /** Tells every session that subscribed to `uri` that the resource changed. */
  resourceUpdated(uri: string): void {
    for (const session of this.#sessions) {
      if (this.#subscriptions.get(session.server)?.has(uri) !== true) continue
      session.server.sendResourceUpdated({ uri }).catch(() => {})
    }
  }

  /**
   * Also tells `listener` when the tool list changes: a stateless endpoint
   * (2026-07-28 over HTTP) has no long-lived server to notify, only its open
   * `subscriptions/listen` streams. Returns the function that removes it.
   */
  onToolListChanged(listener: () => void): () => void {
    this.#listChangedListeners.add(listener)
    return () => this.#listChangedListeners.delete(listener)
  }

  /** A server for one stateless request (2026-07-28 over HTTP), counted as a session while it serves. */
  createRequestServer(view: ToolView, caller: ToolCaller): Server {
    return this.#track(this.createServer(view, caller)).server
  }

  async close(): Promise<void> {
    clearTimeout(this.#listChangedTimer)
    this.#rounds.close()
    await Promise.all([...this.#sessions].map(async (session) => session.close()))
    this.#sessions.clear()
  }
}

/** What a call's runner gets: the input round's context, or (a caller that cannot be asked) the request's signal. */
type CallContext = Omit<RoundContext, 'controller'> & { controller?: AbortController }

/**
 * Spec 2025-11-25 (SEP-1303): only an unknown tool or a malformed request is
 * a protocol error; bad arguments and a tool's refusal (unknown id, bad
 * state) are tool results the model can read and correct.
 */
function callFailure(name: string, err: unknown): CallToolResult {
  if (err instanceof UnknownToolError) throw new ProtocolError(ProtocolErrorCode.InvalidParams, err.message)
  if (err instanceof MalformedRequestError) throw err
  if (err instanceof ProtocolError && err.code !== ProtocolErrorCode.InvalidParams) throw err
  if (!(err instanceof InvalidToolArgumentsError) && !(err instanceof ProtocolError)) {
    log.error('tool %s failed: %s', name, errorMessage(err))
  }
  return errorResult(errorMessage(err))
}

/**
 * An error result of a tool with an `outputSchema` carries no `structuredContent`:
 * clients validate it against the schema even on errors (the SDK 1.x client
 * throws "Structured content does not match the tool's output schema" and
 * the model never sees the error). What it held stays readable as JSON text.
 */
export function withoutStructuredContent(result: CallToolResult, outputSchema: JsonObject | undefined): CallToolResult {
  if (result.structuredContent == null || outputSchema == null) return result
  const { structuredContent, ...rest } = result
  const json = JSON.stringify(structuredContent)
  const present = rest.content.some((block) => block.type === 'text' && block.text === json)
  return present ? rest : { ...rest, content: [...rest.content, { type: 'text', text: json }] }
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

/**
 * The capabilities of the client behind one request: a 2026-07-28 request
 * carries them in its `_meta` envelope (they may change from request to
 * request); a 2025 session declared them once, at initialize.
 */
export function clientCapabilities(server: Server, ctx: ServerContext): ClientCapabilities {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined
  const carried = envelope?.[CLIENT_CAPABILITIES_META_KEY]
  if (carried != null && typeof carried === 'object') return carried as ClientCapabilities
  return server.getClientCapabilities() ?? {}
}

function progressReporter(
  ctx: ServerContext,
  progressToken: string | number | undefined
): (progress: ToolProgress) => void {
  return (progress) => {
    if (progressToken == null || ctx.mcpReq.signal.aborted) return
    ctx.mcpReq
      .notify({ method: 'notifications/progress', params: { progressToken, ...progress } })
      .catch((err: unknown) => log('progress notification failed: %s', errorMessage(err)))
  }
}

/**
 * Relays a log message of the call (from a shared server, from a peer) to the
 * caller: a local client gets it at or above the level it set (per session on
 * 2025, per request on 2026-07-28; the SDK filters). A peer that tagged its
 * call (`_meta["mcp-mesh/relay"]`) gets every message with the tag back, and
 * filters for its own caller.
 */
function logRelay(ctx: ServerContext, tag: unknown): (message: LogMessage) => void {
  return (message) => {
    if (ctx.mcpReq.signal.aborted) return
    const sent =
      typeof tag === 'string'
        ? ctx.mcpReq.notify({
            method: 'notifications/message',
            params: { ...message, _meta: { ...message._meta, [CALL_RELAY_META_KEY]: tag } }
          })
        : ctx.mcpReq.log(message.level, message.data, message.logger)
    sent.catch((err: unknown) => log('log notification failed: %s', errorMessage(err)))
  }
}

function canBeAsked(capabilities: ClientCapabilities): boolean {
  return capabilities.elicitation != null || capabilities.sampling != null || capabilities.roots != null
}

async function noInput(): Promise<Record<string, unknown>> {
  throw new Error('this caller cannot be asked for input')
}
