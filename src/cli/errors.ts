import { MeshError } from '../util/errors.js'

/** Bad command-line usage: exit code 2. */
export class UsageError extends MeshError {
  static override readonly code = 'ERR_USAGE'
}

export class NodeNotRunningError extends MeshError {
  static override readonly code = 'ERR_NODE_NOT_RUNNING'
  constructor(readonly home: string) {
    super(`no node is running on ${home} (start one with \`mcp-mesh start\` or \`mcp-mesh daemon\`)`)
  }
}

export class ToolCallFailedError extends MeshError {
  static override readonly code = 'ERR_TOOL_CALL_FAILED'
}
