import { z } from 'zod'
import { defineTool } from '../../tools/define.js'
import type { Tool as McpTool } from '@modelcontextprotocol/server'
import { TOOL_META_KEY } from '../../mcp/view.js'
import type { Tool } from '../../tools/types.js'

/** `peerTools` lists the tools one peer exports to this node (MeshService.peerTools). */
export function createPeerToolsTool(peerTools: (peer: string, signal: AbortSignal) => Promise<McpTool[]>): Tool {
  return defineTool({
    name: 'peer_tools',
    title: "List one peer's tools",
    description:
      'Lists the tools one peer exports to this node, fetched live over /mcp+p2p (tools/list). Example: {"peer": "12D3KooW..."}.',
    inputSchema: z.object({ peer: z.string().min(1).describe('Peer ID') }),
    outputSchema: z.object({
      peer: z.string(),
      tools: z.array(
        z.object({
          name: z.string(),
          title: z.string().optional(),
          description: z.string().optional(),
          meta: z.unknown()
        })
      )
    }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
    meta: {
      runtime: 'local',
      category: 'mesh',
      priority: 6,
      timeoutMs: 15_000,
      retry: { policy: 'none', maxAttempts: 1, baseDelayMs: 0, retryOnToolError: false },
      tags: ['admin', 'peers']
    },
    handler: async ({ peer }, { signal }) => {
      const tools = await peerTools(peer, signal)
      return {
        peer,
        tools: tools.map((tool) => ({
          name: tool.name,
          title: tool.title,
          description: tool.description,
          meta: tool._meta?.[TOOL_META_KEY] ?? null
        }))
      }
    }
  })
}
