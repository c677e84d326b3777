/**
 * mcp-mesh's public API for tool authors: define tools with metadata that
 * the node validates, registers, routes and shares with the mesh.
 *
 * @example
 * ```ts
 * import { z } from 'zod'
 * import { defineTool } from 'mcp-mesh'
 *
 * export const hello = defineTool({
 *   name: 'hello',
 *   title: 'Hello',
 *   description: 'Greets someone',
 *   inputSchema: z.object({ name: z.string() }),
 *   outputSchema: z.object({ greeting: z.string() }),
 *   meta: { category: 'demo', priority: 5, timeoutMs: 1000, retry: { policy: 'none' }, export: true },
 *   handler: async ({ name }) => ({ greeting: `hello ${name}` })
 * })
 * ```
 *
 * @packageDocumentation
 */
export { defineTool, type ToolSpec } from './tools/define.js'
export { DuplicateToolError, InvalidToolArgumentsError, ToolDefinitionError, UnknownToolError } from './tools/errors.js'
export {
  RETRY_POLICIES,
  RUNTIMES,
  type RetryPolicy,
  type Runtime,
  TOOL_NAME_PATTERN,
  type ToolMeta,
  type ToolMetaInput
} from './tools/meta.js'
export { ToolRegistry } from './tools/registry.js'
export type { JsonObject, Tool, ToolCaller, ToolContext, ToolProgress, ToolSource } from './tools/types.js'
