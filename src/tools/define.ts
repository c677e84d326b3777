import {
  type CallToolResult,
  ProtocolError,
  ProtocolErrorCode,
  type ToolAnnotations
} from '@modelcontextprotocol/server'
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
  return new DefinedTool(spec as unknown as ToolSpec<AnyObjectSchema, AnyObjectSchema | undefined>, source)
}

type AnySpec = ToolSpec<AnyObjectSchema, AnyObjectSchema | undefined>

/**
 * A tool made by `defineTool`. A class rather than an object literal with
 * getters: V8 keeps such literals in dictionary mode, which cost about 1 KB
 * more per tool (bench/RESULTS.md, heap of a 1,000-tool registry). Do not
 * spread it (`{ ...tool }` drops the prototype's getters and `invoke`).
 */
class DefinedTool implements Tool {
  readonly name: string
  readonly title?: string
  readonly description: string
  readonly annotations?: ToolAnnotations
  readonly meta: ToolMeta
  readonly declaredMeta: ReadonlySet<keyof ToolMeta>
  readonly source: ToolSource
  readonly #spec: AnySpec
  // JSON schemas are built on first use: defining 1,000 tools stays cheap.
  #inputJson?: JsonObject
  #outputJson?: JsonObject

  constructor(spec: AnySpec, source: ToolSource) {
    this.name = spec.name
    this.title = spec.title
    this.description = spec.description
    this.annotations = spec.annotations
    this.meta = parseToolMeta(spec.name, spec.meta)
    this.declaredMeta = declaredMetaFields(spec.meta)
    this.source = source
    this.#spec = spec
  }

  get inputSchema(): JsonObject {
    this.#inputJson ??= toJsonSchema(this.#spec.inputSchema, 'input')
    return this.#inputJson
  }

  get outputSchema(): JsonObject | undefined {
    const schema = this.#spec.outputSchema
    if (schema == null) return undefined
    this.#outputJson ??= toJsonSchema(schema, 'output')
    return this.#outputJson
  }

  invoke(args: JsonObject, ctx: ToolContext): Promise<CallToolResult> {
    const { name, inputSchema, handler } = this.#spec
    let output: Promise<unknown>
    try {
      const parsed = inputSchema.safeParse(args ?? {})
      if (!parsed.success) throw new InvalidToolArgumentsError(name, describeIssues(parsed.error))
      try {
        output = Promise.resolve(handler(parsed.data, ctx))
      } catch (err) {
        output = Promise.reject(err)
      }
    } catch (err) {
      return Promise.reject(err)
    }
    // Plain callbacks rather than an async function: one promise and microtask hop less per call.
    return output.then(
      (value) => this.#result(value),
      (err: unknown) => this.#refused(err, ctx)
    )
  }

  /** What a handler that threw answers. */
  #refused(err: unknown, ctx: ToolContext): CallToolResult {
    // A refusal with its own code (a peer's busy/denied) stays a protocol error; InvalidParams
    // (an unknown id, a bad state) is a business error the model must read (SEP-1303).
    if (err instanceof ProtocolError && err.code !== ProtocolErrorCode.InvalidParams) throw err
    if (ctx.signal.aborted) return errorResult(`${this.name} was cancelled: ${errorMessage(ctx.signal.reason)}`)
    return errorResult(errorMessage(err))
  }

  /** The MCP result of a handler's output. */
  #result(output: unknown): CallToolResult {
    const { name, outputSchema } = this.#spec
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
