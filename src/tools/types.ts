import type { CallToolResult, Icon, ToolAnnotations } from '@modelcontextprotocol/server'
import type { ToolMeta } from './meta.js'

export type JsonObject = Record<string, unknown>

export interface ToolProgress {
  progress: number
  total?: number
  message?: string
}

/**
 * A request for the caller's input, as a 2025 server sends it to its client
 * (`elicitation/create`, `sampling/createMessage`, `roots/list`); for a
 * 2026-07-28 caller it becomes an embedded request of an `input_required` round.
 */
export interface InputRequest {
  method: 'elicitation/create' | 'sampling/createMessage' | 'roots/list'
  params?: Record<string, unknown>
  /**
   * Fires when the server (or peer) that asked cancels its request: the node
   * stops waiting for the answer and does not ask the caller for it again.
   */
  signal?: AbortSignal
}

/** A log message a shared server or a peer's tool sends while it runs (`notifications/message`). */
export interface LogMessage {
  level: 'debug' | 'info' | 'notice' | 'warning' | 'error' | 'critical' | 'alert' | 'emergency'
  data: unknown
  logger?: string
  _meta?: Record<string, unknown>
}

/** Who is calling a tool: the local MCP client, or a remote peer. */
export type ToolCaller = { kind: 'local' } | { kind: 'peer'; peerId: string }

export interface ToolContext {
  /** Fires when the caller cancels or the call times out. */
  signal: AbortSignal
  /** Relays progress to the caller's progressToken, if it sent one. */
  reportProgress: (progress: ToolProgress) => void
  caller: ToolCaller
  /**
   * Asks the caller's client for input and resolves with its answer (an
   * ElicitResult, CreateMessageResult or ListRootsResult). Absent when the
   * caller cannot be asked (a peer, an internal call).
   */
  requestInput?: (request: InputRequest) => Promise<Record<string, unknown>>
  /**
   * Relays a log message to the caller's client (`notifications/message`),
   * which receives it only at or above the level it set. Absent when the
   * caller cannot receive one.
   */
  log?: (message: LogMessage) => void
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
  /** Icons the tool lists with (a shared server's, passed on unchanged). */
  readonly icons?: Icon[]
  /** `_meta` the tool lists with besides the mesh's own key (a shared server's, passed on unchanged). */
  readonly listedMeta?: Record<string, unknown>
  readonly meta: ToolMeta
  /** Metadata fields the author set explicitly (the rest are defaults). */
  readonly declaredMeta: ReadonlySet<keyof ToolMeta>
  readonly source: ToolSource
  invoke(args: JsonObject, ctx: ToolContext): Promise<CallToolResult>
}
