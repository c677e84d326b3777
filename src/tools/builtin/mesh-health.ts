import { z } from 'zod'
import { defineTool } from '../define.js'
import type { Tool } from '../types.js'
import { meshHealthSchema, type NodeInfo } from './node-info.js'

export function createMeshHealthTool(node: NodeInfo): Tool {
  return defineTool({
    name: 'mesh_health',
    title: 'Mesh health',
    description:
      'Checks each subsystem (libp2p host, datastore, DHT, pubsub, MCP endpoints, proxied servers) and reports whether the node is healthy.',
    inputSchema: z.object({}),
    outputSchema: meshHealthSchema,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: {
      runtime: 'local',
      category: 'mesh',
      priority: 8,
      timeoutMs: 10_000,
      retry: { policy: 'none', maxAttempts: 1, baseDelayMs: 0, retryOnToolError: false },
      tags: ['admin']
    },
    handler: async (_args, { signal }) => node.health(signal)
  })
}
