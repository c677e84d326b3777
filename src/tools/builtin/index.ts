import type { Tool } from '../types.js'
import { createEchoTool } from './echo.js'
import { createMeshHealthTool } from './mesh-health.js'
import { createMeshStatusTool } from './mesh-status.js'
import type { NodeInfo } from './node-info.js'
import { createSha256Tool } from './sha256.js'
import { createSleepTool } from './sleep.js'

/** The demo set every node exports, so a fresh mesh has something to call. */
export function demoTools(): Tool[] {
  return [createEchoTool(), createSha256Tool(), createSleepTool()]
}

export function nodeTools(node: NodeInfo): Tool[] {
  return [createMeshStatusTool(node), createMeshHealthTool(node)]
}
