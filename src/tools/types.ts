import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/server'
import type { ToolMeta } from './meta.js'

export type JsonObject = Record<string, unknown>

export interface ToolProgress {
  progress: number
  total?: number
  message?: string
}

/** Who is calling a tool: the local MCP client, or a remote peer. */
export type ToolCaller = { kind: 'local' } | { kind: 'peer'; peerId: string }

export interface ToolContext {
  /** Fires when the caller cancels or the call times out. */
  signal: AbortSignal
  /** Relays progress to the caller's progressToken, if it sent one. */
  reportProgress: (progress: ToolProgress) => void
  caller: ToolCaller
}

/** Where a registered tool comes from. */
export type ToolSource =
  | { kind: 'builtin' }
  | { kind: 'module'; path: string }
  | { kind: 'server'; server: string; remoteName: string }

/**
 * A tool as the registry holds it. JSON schemas are what MCP advertises; the
 * `invoke` function validates its own arguments and returns a full MCP result.
 */
export interface Tool {
  readonly name: string
  readonly title?: string
  readonly description: string
  readonly inputSchema: JsonObject
  readonly outputSchema?: JsonObject
  readonly annotations?: ToolAnnotations
  readonly meta: ToolMeta
  /** Metadata fields the author set explicitly (the rest are defaults). */
  readonly declaredMeta: ReadonlySet<keyof ToolMeta>
  readonly source: ToolSource
  invoke(args: JsonObject, ctx: ToolContext): Promise<CallToolResult>
}
