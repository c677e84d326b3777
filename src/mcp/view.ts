import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/server'
import type { Runtime } from '../tools/meta.js'
import type { JsonObject, ToolCaller, ToolProgress } from '../tools/types.js'

/** `_meta` key under which a listed tool carries its mcp-mesh metadata. */
export const TOOL_META_KEY = 'mcp-mesh/meta'

export interface ViewCallContext {
  signal: AbortSignal
  reportProgress: (progress: ToolProgress) => void
  caller: ToolCaller
  override?: Runtime
  /** The call's `_meta` as sent (progressToken and runtime override already applied). */
  meta?: Record<string, unknown>
}

/**
 * What one MCP session sees: the local client sees every tool (its node's and
 * the mesh's); a peer sees only what this node exports to it.
 */
export interface ToolView {
  list(): McpTool[]
  describe(name: string): McpTool | undefined
  call(name: string, args: JsonObject, ctx: ViewCallContext): Promise<CallToolResult>
}
