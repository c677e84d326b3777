import { pathToFileURL } from 'node:url'
import { MeshError } from '../util/errors.js'
import { defineTool, type ToolSpec } from './define.js'
import type { Tool } from './types.js'

export class ToolModuleError extends MeshError {
  static override readonly code = 'ERR_TOOL_MODULE'
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
    else if (isTool(value)) tools.push({ ...value, source: { kind: 'module', path } } as Tool)
    else if (isToolSpec(value)) tools.push(defineTool(value, { kind: 'module', path }))
  }
  for (const value of Object.values(module)) visit(value)
  if (tools.length === 0) throw new ToolModuleError(`tool module ${path} exports no tools`)
  return tools
}
