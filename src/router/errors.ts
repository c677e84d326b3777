import { MeshError } from '../util/errors.js'

export class NoMeshDispatcherError extends MeshError {
  static override readonly code = 'ERR_NO_MESH_DISPATCHER'
  constructor(readonly tool: string) {
    super(`no mesh dispatcher: tool "${tool}" is routed to the mesh but this node has no mesh dispatcher`)
  }
}

export class ToolTimeoutError extends MeshError {
  static override readonly code = 'ERR_TOOL_TIMEOUT'
  constructor(
    readonly tool: string,
    readonly timeoutMs: number
  ) {
    super(`tool "${tool}" timed out after ${timeoutMs} ms`)
  }
}
