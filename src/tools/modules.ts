import { pathToFileURL } from 'node:url'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { MeshError } from '../util/errors.js'
import { defineTool, type ToolSpec } from './define.js'
import type { JsonObject, Tool, ToolContext, ToolSource } from './types.js'

export class ToolModuleError extends MeshError {
  static override readonly code = 'ERR_TOOL_MODULE'
}

/**
 * A tool exported ready-made by a module, re-labelled with where it came
 * from. Delegates instead of spreading: a spread would drop the getters and
 * `invoke` that `defineTool`'s tools keep on their prototype.
 */
class SourcedTool implements Tool {
  readonly #tool: Tool
  readonly source: ToolSource

  constructor(tool: Tool, source: ToolSource) {
    this.#tool = tool
    this.source = source
  }

  get name(): string {
    return this.#tool.name
  }

  get title(): string | undefined {
    return this.#tool.title
  }

  get description(): string {
    return this.#tool.description
  }

  get inputSchema(): JsonObject {
    return this.#tool.inputSchema
  }

  get outputSchema(): JsonObject | undefined {
    return this.#tool.outputSchema
  }

  get annotations(): Tool['annotations'] {
    return this.#tool.annotations
  }

  get meta(): Tool['meta'] {
    return this.#tool.meta
  }

  get declaredMeta(): Tool['declaredMeta'] {
    return this.#tool.declaredMeta
  }

  async invoke(args: JsonObject, ctx: ToolContext): Promise<CallToolResult> {
    return this.#tool.invoke(args, ctx)
  }
}

function isTool(value: unknown): value is Tool {
  const candidate = value as Partial<Tool> | null
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.name === 'string' &&
    typeof candidate.invoke === 'function' &&
    typeof candidate.meta === 'object'
  )
}

function isToolSpec(value: unknown): value is ToolSpec<never, never> {
  const candidate = value as Record<string, unknown> | null
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.name === 'string' &&
    typeof candidate.handler === 'function' &&
    typeof candidate.inputSchema === 'object'
  )
}

/**
 * Loads tools from an ES module. Every export (and each element of an
 * exported array) that is a tool made with `defineTool`, or a plain tool spec
 * (`{ name, description, inputSchema, handler, meta }`), becomes a tool.
 */
export async function loadToolModule(path: string): Promise<Tool[]> {
  let module: Record<string, unknown>
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>
  } catch (err) {
    throw new ToolModuleError(`cannot load tool module ${path}: ${(err as Error).message}`, { cause: err })
  }
  const tools: Tool[] = []
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit)
    else if (isTool(value)) tools.push(new SourcedTool(value, { kind: 'module', path }))
    else if (isToolSpec(value)) tools.push(defineTool(value, { kind: 'module', path }))
  }
  for (const value of Object.values(module)) visit(value)
  if (tools.length === 0) throw new ToolModuleError(`tool module ${path} exports no tools`)
  return tools
}
