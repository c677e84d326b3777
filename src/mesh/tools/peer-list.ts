import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import type { MeshPeerSummary } from '../index.js'

export const peerSummarySchema = z.object({
  peerId: z.string(),
  alias: z.string(),
  connected: z.boolean(),
  addresses: z.array(z.string()),
  inCatalog: z.boolean(),
  source: z.enum(['gossip', 'dht', 'direct']).optional(),
  tools: z.array(z.string()),
  load: z.object({ inFlight: z.number(), queued: z.number(), maxConcurrency: z.number() }).optional(),
  latencyMs: z.number().optional(),
  lastAdvertAgoMs: z.number().optional(),
  connections: z.array(z.record(z.string(), z.unknown())).optional()
})

export function createPeerListTool(peers: () => MeshPeerSummary[]): Tool {
  return defineTool({
    name: 'peer_list',
    title: 'List mesh peers',
    description:
      'Lists known peers: connected ones and those in the tool catalog, with their exported tools, load and measured latency. Example: {} or {"withTools": true}.',
    inputSchema: z.object({
      withTools: z.boolean().default(false).describe('Only peers that offer at least one tool'),
      connectedOnly: z.boolean().default(false).describe('Only peers with a live connection')
    }),
    outputSchema: z.object({ peers: z.array(peerSummarySchema), count: z.number().int() }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: {
      runtime: 'local',
      category: 'mesh',
      priority: 7,
      timeoutMs: 5_000,
      retry: { policy: 'none', maxAttempts: 1, baseDelayMs: 0, retryOnToolError: false },
      tags: ['admin', 'peers']
    },
    handler: async ({ withTools, connectedOnly }) => {
      const list = peers().filter((p) => (!withTools || p.tools.length > 0) && (!connectedOnly || p.connected))
      return { peers: list, count: list.length }
    }
  })
}
