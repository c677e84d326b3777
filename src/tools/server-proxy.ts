import {
  Client,
  type CompleteRequestParams,
  type CompleteResult,
  type GetPromptResult,
  LOG_LEVEL_META_KEY,
  type Prompt,
  ProtocolError,
  ProtocolErrorCode,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplateType
} from '@modelcontextprotocol/client'
import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/server'
import type { ServerSpec } from '../config/schema.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { second } from '../util/time.js'
import { servesUri } from '../util/uri-template.js'
import { declaredMetaFields, errorResult, parseToolMeta } from './define.js'
import { MAX_TOOL_TIMEOUT_MS, TOOL_NAME_PATTERN, type ToolMetaInput } from './meta.js'
import type { ToolRegistry } from './registry.js'
import { churnRequestMaps } from '../mcp/request-maps.js'
import { ChurnMap } from '../util/churn-map.js'
import { LogRelays } from './call-relay.js'
import { serverTransport } from './server-transport.js'
import { type AskInput, answerInCallerContext, callerInput } from './input-scope.js'
import type { InputRequest, JsonObject, Tool, ToolContext } from './types.js'
import { KeyedCounter } from '../util/counter.js'

const log = meshLogger('server-proxy')

export const RESTART_BASE_DELAY_MS = 500
export const RESTART_MAX_DELAY_MS = 30 * second
/** A child that stayed up this long is considered healthy again: the backoff resets. */
export const RESTART_RESET_AFTER_MS = 60 * second

export type ServerState = 'starting' | 'running' | 'restarting' | 'stopped'

/** Forwarding context of a prompt, resource or completion request. */
export interface ServerRequestContext {
  signal: AbortSignal
  requestInput?: AskInput
}

export interface ServerProxyInit {
  /** Hears the server's `notifications/resources/updated`. */
  onResourceUpdated?: (uri: string) => void
}

export interface ServerProxyStatus {
  name: string
  state: ServerState
  tools: number
  restarts: number
  lastError?: string
  nextRestartInMs?: number
}

/**
 * Runs one MCP server as a stdio child (or reaches a remote one over
 * Streamable HTTP), imports its tools into the registry
 * under a prefix, and forwards calls. A dead child's tools stay listed (so
 * clients do not churn) and fail clearly until it is back; it is restarted
 * with exponential backoff.
 */
export class ServerProxy {
  readonly name: string
  readonly #spec: ServerSpec
  readonly #registry: ToolRegistry
  readonly #prefix: string
  #client?: Client
  #state: ServerState = 'stopped'
  #restarts = 0
  #lastError?: string
  #restartTimer?: NodeJS.Timeout
  #restartAt?: number
  #startedAt = 0
  #stopping = false
  #toolNames = new Set<string>()
  /**
   * Input channels of the requests in flight to the child (its input requests go to one of them; null:
   * a caller that cannot be asked). This map, #progress and the log relays are ChurnMaps: an entry per
   * call for as long as the server runs, each holding the caller's call. As Maps, a node calling a
   * shared server's tool at 64 in flight promoted 1.0 MB per young-generation collection; 0.3 MB.
   */
  readonly #inFlight = new ChurnMap<number, AskInput | null>()
  #nextRequest = 1
  /** Log channels of the calls in flight: the child's log messages go to the most recent one. */
  readonly #logs = new LogRelays()
  readonly #progress = new ChurnMap<
    string,
    (progress: { progress: number; total?: number; message?: string }) => void
  >()
  #nextProgressToken = 1
  #prompts: Prompt[] = []
  #resources: Resource[] = []
  #templates: ResourceTemplateType[] = []

  readonly #onResourceUpdated?: (uri: string) => void
  /** Sessions subscribed to each resource: the child is subscribed while one is. */
  readonly #subscribers = new KeyedCounter()

  /** `onResourceUpdated` hears the child's `notifications/resources/updated` (the front relays them). */
  constructor(name: string, spec: ServerSpec, registry: ToolRegistry, init: ServerProxyInit = {}) {
    this.name = name
    this.#spec = spec
    this.#registry = registry
    this.#onResourceUpdated = init.onResourceUpdated
    this.#prefix = spec.prefix ?? `${name}.`
  }

  /** Whether the server's tools (and prompts and resources) are shared with peers (`export: true`). */
  get exported(): boolean {
    return this.#spec.export
  }

  async start(): Promise<void> {
    if (this.#state !== 'stopped') return
    this.#stopping = false
    await this.#launch()
  }

  async stop(): Promise<void> {
    this.#stopping = true
    clearTimeout(this.#restartTimer)
    this.#restartTimer = undefined
    const client = this.#client
    this.#client = undefined
    this.#state = 'stopped'
    await client?.close().catch(() => {})
    for (const name of this.#toolNames) this.#registry.unregister(name)
    this.#toolNames.clear()
  }

  status(): ServerProxyStatus {
    const status: ServerProxyStatus = {
      name: this.name,
      state: this.#state,
      tools: this.#toolNames.size,
      restarts: this.#restarts
    }
    if (this.#lastError != null) status.lastError = this.#lastError
    if (this.#restartAt != null) status.nextRestartInMs = Math.max(0, this.#restartAt - Date.now())
    return status
  }

  async #launch(): Promise<void> {
    this.#state = this.#restarts === 0 ? 'starting' : 'restarting'
    const transport = serverTransport(this.#spec)
    // Declares every input capability: what the caller behind each request supports is
    // checked per request when the child asks (a 2026-07-28 caller carries it in _meta).
    const client = new Client(
      { name: `mcp-mesh-proxy/${this.name}`, version: '1' },
      {
        capabilities: { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} },
        versionNegotiation: { mode: this.#spec.negotiate ? 'auto' : 'legacy' }
      }
    )
    churnRequestMaps(client)
    client.onclose = () => this.#onExit(client)
    for (const method of ['elicitation/create', 'sampling/createMessage', 'roots/list'] as const) {
      client.setRequestHandler(
        method,
        async (request, ctx) =>
          (await this.#askCaller({
            method,
            params: request.params as Record<string, unknown> | undefined,
            signal: ctx.mcpReq.signal
          })) as never
      )
    }
    client.setNotificationHandler('notifications/progress', (notification) => {
      const { progressToken, progress, total, message } = notification.params
      this.#progress.get(String(progressToken))?.({ progress, total, message })
    })
    client.setNotificationHandler('notifications/message', (notification) => {
      if (!this.#logs.deliver(notification.params as Record<string, unknown>)) {
        log('server %s logged outside any call: %o', this.name, notification.params)
      }
    })
    client.setNotificationHandler('notifications/resources/updated', (notification) => {
      this.#onResourceUpdated?.(notification.params.uri)
    })
    client.setNotificationHandler('notifications/tools/list_changed', async () => {
      if (this.#client === client) this.#sync(await listAllTools(client))
    })
    try {
      await client.connect(transport)
      // A 2026-07-28 server's input_required rounds are fulfilled from the response handler.
      answerInCallerContext(transport)
      // Every level from the child: each caller's client gets what its own level lets through.
      if (client.getServerCapabilities()?.logging != null) {
        await client.setLoggingLevel('debug').catch((err: unknown) => {
          log('server %s: logging/setLevel failed: %s', this.name, errorMessage(err))
        })
      }
      const tools = await listAllTools(client)
      this.#client = client
      this.#startedAt = Date.now()
      this.#state = 'running'
      this.#lastError = undefined
      this.#sync(tools)
      await this.#loadContent(client)
      log('server %s running with %d tools', this.name, tools.length)
    } catch (err) {
      this.#lastError = errorMessage(err)
      log.error('server %s failed to start: %s', this.name, this.#lastError)
      client.onclose = undefined
      await client.close().catch(() => {})
      this.#scheduleRestart()
    }
  }

  #onExit(client: Client): void {
    if (this.#client !== client) return
    this.#client = undefined
    if (this.#stopping) return
    this.#lastError = 'process exited'
    log.error('server %s exited; restarting with backoff', this.name)
    if (Date.now() - this.#startedAt > RESTART_RESET_AFTER_MS) this.#restarts = 0
    this.#scheduleRestart()
  }

  #scheduleRestart(): void {
    if (this.#stopping) return
    this.#state = 'restarting'
    const delay = Math.min(RESTART_MAX_DELAY_MS, RESTART_BASE_DELAY_MS * 2 ** this.#restarts)
    this.#restarts++
    this.#restartAt = Date.now() + delay
    this.#restartTimer = setTimeout(() => {
      this.#restartAt = undefined
      void this.#launch()
    }, delay)
    this.#restartTimer.unref()
  }

  /** Brings the registry in line with the child's current tools. */
  #sync(remoteTools: McpTool[]): void {
    const next = new Map<string, Tool>()
    for (const remote of remoteTools) {
      const tool = this.#toTool(remote)
      if (tool != null) next.set(tool.name, tool)
    }
    for (const name of this.#toolNames) {
      if (!next.has(name)) this.#registry.unregister(name)
    }
    for (const [name, tool] of next) {
      if (this.#toolNames.has(name)) this.#registry.unregister(name)
      this.#registry.register(tool)
    }
    this.#toolNames = new Set(next.keys())
  }

  #toTool(remote: McpTool): Tool | undefined {
    const name = `${this.#prefix}${remote.name}`
    if (!TOOL_NAME_PATTERN.test(name)) {
      log.error('server %s: skipping tool %s, name is not a valid MCP tool name', this.name, name)
      return undefined
    }
    const metaInput: ToolMetaInput = { category: `server:${this.name}`, ...this.#spec.meta, export: this.#spec.export }
    const meta = parseToolMeta(name, metaInput)
    const proxy = this
    return {
      name,
      title: remote.title,
      description: `${remote.description ?? remote.name} (via MCP server "${this.name}")`,
      inputSchema: remote.inputSchema as JsonObject,
      outputSchema: remote.outputSchema as JsonObject | undefined,
      annotations: remote.annotations,
      icons: remote.icons,
      listedMeta: remote._meta,
      meta,
      declaredMeta: declaredMetaFields(metaInput),
      source: { kind: 'server', server: this.name, remoteName: remote.name },
      async invoke(args: JsonObject, ctx: ToolContext): Promise<CallToolResult> {
        return proxy.#call(remote.name, args, ctx)
      }
    }
  }

  async #call(remoteName: string, args: JsonObject, ctx: ToolContext): Promise<CallToolResult> {
    const client = this.#client
    if (client == null || this.#state !== 'running') {
      const retry = this.#restartAt != null ? `; restarting in ${Math.max(0, this.#restartAt - Date.now())} ms` : ''
      return errorResult(`MCP server "${this.name}" is not running (${this.#lastError ?? this.#state})${retry}`)
    }
    // Progress is routed by our own token, not the SDK's onprogress: the SDK drops a
    // notification that arrives right before the result (it handles the response first).
    const progressToken = `${this.name}-${this.#nextProgressToken++}`
    this.#progress.set(progressToken, ctx.reportProgress)
    const logs = ctx.log != null ? this.#logs.open(ctx.log) : undefined
    try {
      const result = await this.#forward(ctx.requestInput ?? callerInput.getStore(), async () =>
        client.callTool(
          // A 2026-07-28 child reads the log level from each request (2025 ones were set at connect).
          { name: remoteName, arguments: args, _meta: { progressToken, [LOG_LEVEL_META_KEY]: 'debug' } },
          // The router enforces the tool's timeout; the SDK's own 60 s default must not cut in first.
          { signal: ctx.signal, timeout: MAX_TOOL_TIMEOUT_MS }
        )
      )
      // Notifications read with the result are dispatched a tick later: deliver them first.
      await new Promise((resolve) => setImmediate(resolve))
      return result as CallToolResult
    } finally {
      this.#progress.delete(progressToken)
      logs?.close()
    }
  }

  /** Runs a request to the child with its caller's input channel registered. */
  async #forward<T>(ask: AskInput | undefined, fn: () => Promise<T>): Promise<T> {
    const id = this.#nextRequest++
    this.#inFlight.set(id, ask ?? null)
    try {
      return await callerInput.run(ask, fn)
    } finally {
      this.#inFlight.delete(id)
    }
  }

  /**
   * The child asks its client for input (a 2025 server sends the request; a
   * 2026-07-28 server's input_required round is fulfilled by the SDK client
   * through the same handler). It goes to the caller of the request it
   * belongs to: known through the async context when the SDK fulfils a
   * round. A 2025 child's request does not say which of its requests it
   * belongs to: it goes to the most recent request in flight whose caller
   * can answer (exact with one request at a time; a guess with several).
   */
  async #askCaller(request: InputRequest): Promise<Record<string, unknown>> {
    // The most recent request in flight whose caller can be asked (a Map keeps insertion order).
    const ask = callerInput.getStore() ?? [...this.#inFlight.values()].reverse().find((candidate) => candidate != null)
    if (ask == null) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidRequest,
        `MCP server "${this.name}" asks for ${request.method}, and no call in flight to it can answer`
      )
    }
    return ask(request)
  }

  async #loadContent(client: Client): Promise<void> {
    const capabilities = client.getServerCapabilities() ?? {}
    try {
      this.#prompts = capabilities.prompts != null ? await listAll(client, 'prompts') : []
      this.#resources = capabilities.resources != null ? await listAll(client, 'resources') : []
      this.#templates = capabilities.resources != null ? await listAll(client, 'resourceTemplates') : []
    } catch (err) {
      log.error('server %s: listing prompts or resources failed: %s', this.name, errorMessage(err))
    }
  }

  /** The child's prompts, named with the server's prefix as its tools are. */
  prompts(): Prompt[] {
    return this.#prompts.map((prompt) => ({ ...prompt, name: `${this.#prefix}${prompt.name}` }))
  }

  resources(): Resource[] {
    return this.#resources
  }

  resourceTemplates(): ResourceTemplateType[] {
    return this.#templates
  }

  /** The child's name of one of its prompts as this node lists it, if it is one. */
  promptName(listed: string): string | undefined {
    if (!listed.startsWith(this.#prefix)) return undefined
    const name = listed.slice(this.#prefix.length)
    return this.#prompts.some((prompt) => prompt.name === name) ? name : undefined
  }

  /** Whether `uri` is one of the child's resources or matches one of its templates. */
  servesResource(uri: string): boolean {
    return servesUri(uri, this.#resources, this.#templates)
  }

  async getPrompt(
    name: string,
    args: Record<string, string> | undefined,
    ctx: ServerRequestContext
  ): Promise<GetPromptResult> {
    const client = this.#running()
    return this.#forward(ctx.requestInput ?? callerInput.getStore(), async () =>
      client.getPrompt({ name, arguments: args }, { signal: ctx.signal, timeout: MAX_TOOL_TIMEOUT_MS })
    )
  }

  async readResource(uri: string, ctx: ServerRequestContext): Promise<ReadResourceResult> {
    const client = this.#running()
    return this.#forward(ctx.requestInput ?? callerInput.getStore(), async () =>
      client.readResource({ uri }, { signal: ctx.signal, timeout: MAX_TOOL_TIMEOUT_MS })
    )
  }

  async complete(params: CompleteRequestParams, ctx: ServerRequestContext): Promise<CompleteResult> {
    const client = this.#running()
    if (client.getServerCapabilities()?.completions == null) return { completion: { values: [] } }
    return client.complete(params, { signal: ctx.signal })
  }

  /** Subscribes the child to `uri` for the first session that subscribes (when it supports subscriptions). */
  async subscribe(uri: string, ctx: ServerRequestContext): Promise<void> {
    const client = this.#running()
    const count = this.#subscribers.get(uri)
    if (
      count === 0 &&
      client.getProtocolEra() !== 'modern' &&
      client.getServerCapabilities()?.resources?.subscribe === true
    ) {
      await client.subscribeResource({ uri }, { signal: ctx.signal })
    }
    this.#subscribers.increment(uri)
  }

  /** Unsubscribes the child from `uri` when the last session unsubscribed. */
  async unsubscribe(uri: string, ctx: ServerRequestContext): Promise<void> {
    const count = this.#subscribers.get(uri)
    this.#subscribers.decrement(uri)
    if (count > 1) return
    const client = this.#running()
    if (
      count === 1 &&
      client.getProtocolEra() !== 'modern' &&
      client.getServerCapabilities()?.resources?.subscribe === true
    ) {
      await client.unsubscribeResource({ uri }, { signal: ctx.signal })
    }
  }

  #running(): Client {
    const client = this.#client
    if (client == null || this.#state !== 'running') {
      throw new ProtocolError(
        ProtocolErrorCode.InternalError,
        `MCP server "${this.name}" is not running (${this.#lastError ?? this.#state})`
      )
    }
    return client
  }
}

async function listAllTools(client: Client): Promise<McpTool[]> {
  const tools: McpTool[] = []
  let cursor: string | undefined
  do {
    const page = await client.listTools(cursor != null ? { cursor } : undefined)
    tools.push(...page.tools)
    cursor = page.nextCursor
  } while (cursor != null)
  return tools
}

type Listed = { prompts: Prompt; resources: Resource; resourceTemplates: ResourceTemplateType }

async function listAll<K extends keyof Listed>(client: Client, kind: K): Promise<Array<Listed[K]>> {
  const items: Array<Listed[K]> = []
  let cursor: string | undefined
  do {
    const params = cursor != null ? { cursor } : undefined
    const page =
      kind === 'prompts'
        ? await client.listPrompts(params)
        : kind === 'resources'
          ? await client.listResources(params)
          : await client.listResourceTemplates(params)
    const pageItems = (page as unknown as Record<string, unknown>)[kind] as Array<Listed[K]>
    items.push(...pageItems)
    cursor = page.nextCursor
  } while (cursor != null)
  return items
}
