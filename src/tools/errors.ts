import { MeshError } from '../util/errors.js'

/** A tool definition is invalid; `field` names the offending metadata field. */
export class ToolDefinitionError extends MeshError {
  static override readonly code = 'ERR_TOOL_DEFINITION'
  readonly tool: string
  readonly field: string

  constructor(tool: string, field: string, reason: string) {
    super(`tool "${tool}": ${field}: ${reason}`)
    this.tool = tool
    this.field = field
  }
}

export class DuplicateToolError extends MeshError {
  static override readonly code = 'ERR_DUPLICATE_TOOL'
  constructor(readonly tool: string) {
    super(`a tool named "${tool}" is already registered`)
  }
}

export class UnknownToolError extends MeshError {
  static override readonly code = 'ERR_UNKNOWN_TOOL'
  constructor(readonly tool: string) {
    super(`Unknown tool: ${tool}`)
  }
}

/** Arguments did not match the tool's input schema; surfaces as MCP InvalidParams. */
export class InvalidToolArgumentsError extends MeshError {
  static override readonly code = 'ERR_INVALID_TOOL_ARGUMENTS'
  constructor(
    readonly tool: string,
    readonly issues: string[]
  ) {
    super(`Invalid arguments for tool ${tool}: ${issues.join('; ')}`)
  }
}
