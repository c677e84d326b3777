import {
  type CallToolResult,
  type Tool as McpTool,
  ProtocolError,
  ProtocolErrorCode
} from '@modelcontextprotocol/server'
import type { RuntimeRouter } from '../router/router.js'
import type { ToolRegistry } from '../tools/registry.js'
import type { JsonObject, Tool } from '../tools/types.js'
import { type ContentSource, TOOL_META_KEY, type ToolView, type ViewCallContext } from './view.js'

export function toMcpTool(tool: Tool): McpTool {
  const listed: McpTool = {
    name: tool.name,
    description: tool.description,
    inputSchema: tool.inputSchema as McpTool['inputSchema'],
    _meta: { ...tool.listedMeta, [TOOL_META_KEY]: tool.meta }
  }
  if (tool.title != null) listed.title = tool.title
  if (tool.icons != null) listed.icons = tool.icons
  if (tool.outputSchema != null) listed.outputSchema = tool.outputSchema as McpTool['outputSchema']
  if (tool.annotations != null) listed.annotations = tool.annotations
  return listed
}

/**
 * Tools offered by peers, merged into what the local client sees. The mesh
 * layer provides it; without one the local view is just the registry.
 */
export interface MeshToolSource {
  list(localNames: ReadonlySet<string>): McpTool[]
  describe(name: string): McpTool | undefined
}

export interface LocalToolViewInit {
  /** The mesh's tools while the mesh runs, else undefined. Read on every list and describe. */
  mesh?: () => MeshToolSource | undefined
  /** Prompts, resources and completions of the shared MCP servers; none when absent. */
  content?: ContentSource
}

const NO_CONTENT: ContentSource = {
  prompts: async () => [],
  getPrompt: async (name) => {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${name}`)
  },
  resources: async () => [],
  resourceTemplates: async () => [],
  readResource: async (uri) => {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Resource not found: ${uri}`, { uri })
  },
  complete: async () => ({ completion: { values: [] } })
}

/** The local user's view: every tool of this node, plus the mesh's. */
export class LocalToolView implements ToolView {
  readonly #registry: ToolRegistry
  readonly #router: RuntimeRouter
  readonly #mesh: () => MeshToolSource | undefined
  readonly #content: ContentSource
  #cache?: Map<string, McpTool>

  constructor(registry: ToolRegistry, router: RuntimeRouter, init: LocalToolViewInit = {}) {
    this.#registry = registry
    this.#router = router
    this.#mesh = init.mesh ?? (() => undefined)
    this.#content = init.content ?? NO_CONTENT
    registry.addEventListener('change', () => this.invalidate())
  }

  invalidate(): void {
    this.#cache = undefined
  }

  list(): McpTool[] {
    return [...this.#localTools().values(), ...(this.#mesh()?.list(new Set(this.#localTools().keys())) ?? [])]
  }

  describe(name: string): McpTool | undefined {
    return this.#localTools().get(name) ?? this.#mesh()?.describe(name)
  }

  call(name: string, args: JsonObject, ctx: ViewCallContext): Promise<CallToolResult> {
    return this.#router.call(
      name,
      args,
      {
        signal: ctx.signal,
        reportProgress: ctx.reportProgress,
        caller: ctx.caller,
        requestInput: ctx.requestInput,
        log: ctx.log
      },
      { override: ctx.override, controller: ctx.controller }
    )
  }

  content(): ContentSource {
    return this.#content
  }

  #localTools(): Map<string, McpTool> {
    this.#cache ??= new Map(this.#registry.list().map((tool) => [tool.name, toMcpTool(tool)]))
    return this.#cache
  }
}
