import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/server'
import type { z } from 'zod'
import { errorMessage } from '../util/errors.js'
import { InvalidToolArgumentsError, ToolDefinitionError } from './errors.js'
import { describeIssues, toJsonSchema } from './json-schema.js'
import { TOOL_NAME_PATTERN, type ToolMeta, type ToolMetaInput, toolMetaSchema } from './meta.js'
import type { JsonObject, Tool, ToolContext, ToolSource } from './types.js'

type AnyObjectSchema = z.ZodObject<z.ZodRawShape>

export interface ToolSpec<In extends AnyObjectSchema, Out extends AnyObjectSchema | undefined> {
  name: string
  title?: string
  description: string
  inputSchema: In
  outputSchema?: Out
  annotations?: ToolAnnotations
  meta?: ToolMetaInput
  /**
   * Returns the structured output (validated against `outputSchema` when one
   * is given), a plain string, or a full MCP result. Throwing produces an
   * `isError` result carrying the error message.
   */
  handler: (
    args: z.output<In>,
    ctx: ToolContext
  ) => Promise<(Out extends AnyObjectSchema ? z.input<Out> : JsonObject | string) | CallToolResult>
}

/** Validates metadata, naming the first bad field in a ToolDefinitionError. */
export function parseToolMeta(tool: string, meta: ToolMetaInput | undefined): ToolMeta {
  const parsed = toolMetaSchema.safeParse(meta ?? {})
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const field = issue == null || issue.path.length === 0 ? 'meta' : `meta.${issue.path.map(String).join('.')}`
    throw new ToolDefinitionError(tool, field, issue?.message ?? 'invalid metadata')
  }
  return parsed.data
}

export function assertToolName(name: string): void {
  if (typeof name !== 'string' || !TOOL_NAME_PATTERN.test(name)) {
    throw new ToolDefinitionError(String(name), 'name', `must match ${TOOL_NAME_PATTERN}`)
  }
}

export function declaredMetaFields(meta: ToolMetaInput | undefined): Set<keyof ToolMeta> {
  return new Set(Object.keys(meta ?? {}) as Array<keyof ToolMeta>)
}

export function isCallToolResult(value: unknown): value is CallToolResult {
  return typeof value === 'object' && value !== null && Array.isArray((value as { content?: unknown }).content)
}

/** Wraps structured output as an MCP result: JSON text for old clients plus structuredContent. */
export function structuredResult(output: JsonObject): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(output) }], structuredContent: output }
}

export function errorResult(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true }
}

/**
 * Defines a tool from zod schemas. Everything is validated here, at definition
 * time, so a bad priority, policy, name or timeout fails when the module loads
 * rather than when a peer first calls the tool.
 */
export function defineTool<In extends AnyObjectSchema, Out extends AnyObjectSchema | undefined = undefined>(
  spec: ToolSpec<In, Out>,
  source: ToolSource = { kind: 'builtin' }
): Tool {
  assertToolName(spec.name)
  if (typeof spec.description !== 'string' || spec.description.trim() === '') {
    throw new ToolDefinitionError(spec.name, 'description', 'is required')
  }
  if (spec.inputSchema == null || typeof spec.inputSchema.safeParse !== 'function') {
    throw new ToolDefinitionError(spec.name, 'inputSchema', 'must be a zod object schema')
  }
  if (typeof spec.handler !== 'function') {
    throw new ToolDefinitionError(spec.name, 'handler', 'must be a function')
  }
  const meta = parseToolMeta(spec.name, spec.meta)
  const { inputSchema, outputSchema, handler, name } = spec
  // JSON schemas are built on first use: defining 1,000 tools stays cheap.
  let inputJson: JsonObject | undefined
  let outputJson: JsonObject | undefined

  return {
    name,
    title: spec.title,
    description: spec.description,
    annotations: spec.annotations,
    meta,
    declaredMeta: declaredMetaFields(spec.meta),
    source,
    get inputSchema(): JsonObject {
      inputJson ??= toJsonSchema(inputSchema, 'input')
      return inputJson
    },
    get outputSchema(): JsonObject | undefined {
      if (outputSchema == null) return undefined
      outputJson ??= toJsonSchema(outputSchema, 'output')
      return outputJson
    },
    async invoke(args: JsonObject, ctx: ToolContext): Promise<CallToolResult> {
      const parsed = inputSchema.safeParse(args ?? {})
      if (!parsed.success) throw new InvalidToolArgumentsError(name, describeIssues(parsed.error))
      let output: unknown
      try {
        output = await handler(parsed.data, ctx)
      } catch (err) {
        if (ctx.signal.aborted) return errorResult(`${name} was cancelled: ${errorMessage(ctx.signal.reason)}`)
        return errorResult(errorMessage(err))
      }
      if (isCallToolResult(output)) return output
      if (typeof output === 'string') return { content: [{ type: 'text', text: output }] }
      if (outputSchema != null) {
        const checked = outputSchema.safeParse(output)
        if (!checked.success) {
          return errorResult(
            `${name} produced output that does not match its outputSchema: ${describeIssues(checked.error).join('; ')}`
          )
        }
        return structuredResult(checked.data as JsonObject)
      }
      return structuredResult((output ?? {}) as JsonObject)
    }
  }
}
