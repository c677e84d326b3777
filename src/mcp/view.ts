import type {
  CallToolResult,
  CompleteRequestParams,
  CompleteResult,
  GetPromptResult,
  Tool as McpTool,
  Prompt,
  ReadResourceResult,
  Resource,
  ResourceTemplateType
} from '@modelcontextprotocol/server'
import type { Runtime } from '../tools/meta.js'
import type { InputRequest, JsonObject, LogMessage, ToolCaller, ToolProgress } from '../tools/types.js'

/** `_meta` key under which a listed tool carries its mcp-mesh metadata. */
export const TOOL_META_KEY = 'mcp-mesh/meta'

export interface ViewCallContext {
  signal: AbortSignal
  /**
   * The controller of `signal` when it was made for this call alone (the
   * front's input rounds): a local tool's timeout may abort it rather than
   * chain a controller of its own (RouteOptions.controller).
   */
  controller?: AbortController
  reportProgress: (progress: ToolProgress) => void
  caller: ToolCaller
  override?: Runtime
  /** The call's `_meta` as sent (progressToken and runtime override already applied). */
  meta?: Record<string, unknown>
  /** Asks the caller's client for input (see ToolContext.requestInput). */
  requestInput?: (request: InputRequest) => Promise<Record<string, unknown>>
  /** Relays a log message to the caller (see ToolContext.log). */
  log?: (message: LogMessage) => void
}

/** Context of a prompt, resource or completion request forwarded to a shared server. */
export interface ContentCallContext {
  signal: AbortSignal
  requestInput?: (request: InputRequest) => Promise<Record<string, unknown>>
}

/**
 * Prompts, resources and completions of the MCP servers this node shares,
 * served to the local user next to the tools (not exported to peers).
 */
export interface ContentSource {
  prompts(): Promise<Prompt[]>
  getPrompt(name: string, args: Record<string, string> | undefined, ctx: ContentCallContext): Promise<GetPromptResult>
  resources(): Promise<Resource[]>
  resourceTemplates(): Promise<ResourceTemplateType[]>
  readResource(uri: string, ctx: ContentCallContext): Promise<ReadResourceResult>
  complete(params: CompleteRequestParams, ctx: ContentCallContext): Promise<CompleteResult>
  /**
   * Subscribes to (or unsubscribes from) a resource's updates at the server
   * that serves it; its `notifications/resources/updated` reach the sessions
   * that subscribed (`McpFront.resourceUpdated`). A resource no server
   * serves is refused with -32602.
   */
  subscribe?(uri: string, ctx: ContentCallContext): Promise<void>
  unsubscribe?(uri: string, ctx: ContentCallContext): Promise<void>
}

/**
 * What one MCP session sees: the local client sees every tool (its node's and
 * the mesh's); a peer sees only what this node exports to it.
 */
export interface ToolView {
  list(): McpTool[]
  describe(name: string): McpTool | undefined
  call(name: string, args: JsonObject, ctx: ViewCallContext): Promise<CallToolResult>
  /** Prompts, resources and completions offered with the tools (the local view only). */
  content?(): ContentSource
}

/** A content source resolved at each request (for a view created before its node starts). */
export function deferredContent(get: () => ContentSource): ContentSource {
  return {
    prompts: async () => get().prompts(),
    getPrompt: async (name, args, ctx) => get().getPrompt(name, args, ctx),
    resources: async () => get().resources(),
    resourceTemplates: async () => get().resourceTemplates(),
    readResource: async (uri, ctx) => get().readResource(uri, ctx),
    complete: async (params, ctx) => get().complete(params, ctx),
    subscribe: async (uri, ctx) => get().subscribe?.(uri, ctx),
    unsubscribe: async (uri, ctx) => get().unsubscribe?.(uri, ctx)
  }
}
