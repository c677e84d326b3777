import { z } from 'zod'
import { defineTool } from '../define.js'
import type { Tool } from '../types.js'
import { meshStatusSchema, type NodeInfo } from './node-info.js'

export function createMeshStatusTool(node: NodeInfo): Tool {
  return defineTool({
    name: 'mesh_status',
    title: 'Mesh status',
    description:
      'Reports this node: peerId, addresses, connected peers, tool counts, router metrics, proxied servers, uptime and version.',
    inputSchema: z.object({}),
    outputSchema: meshStatusSchema,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: {
      runtime: 'local',
      category: 'mesh',
      priority: 8,
      timeoutMs: 5_000,
      retry: { policy: 'none', maxAttempts: 1, baseDelayMs: 0, retryOnToolError: false },
      tags: ['admin']
    },
    handler: async () => node.status()
  })
}
