import type { CallToolResult } from '@modelcontextprotocol/server'
import { z } from 'zod'
import { defineTool, structuredResult } from '../../tools/define.js'
import type { JsonObject, Tool, ToolContext } from '../../tools/types.js'

/** Calls `tool` on one named peer (MeshService.callPeer). */
export type CallPeer = (
  peer: string,
  tool: string,
  args: JsonObject,
  ctx: ToolContext,
  timeoutMs: number
) => Promise<CallToolResult>

export function createMeshCallTool(callPeer: CallPeer): Tool {
  return defineTool({
    name: 'mesh_call',
    title: 'Call a tool on a named peer',
    description:
      'Calls a tool on one specific peer over /mcp+p2p, bypassing peer selection; for diagnostics. Example: {"peer": "12D3KooW...", "tool": "echo", "arguments": {"message": "hi"}}.',
    inputSchema: z.object({
      peer: z.string().min(1).describe('Peer ID'),
      tool: z.string().min(1).max(128).describe('Tool name on that peer'),
      arguments: z.record(z.string(), z.unknown()).default({}).describe('Tool arguments'),
      timeoutMs: z.number().int().positive().max(3_600_000).default(30_000)
    }),
    outputSchema: z.object({
      peer: z.string(),
      tool: z.string(),
      isError: z.boolean(),
      content: z.array(z.unknown()),
      structuredContent: z.unknown().optional(),
      latencyMs: z.number()
    }),
    annotations: { readOnlyHint: false, openWorldHint: true },
    meta: {
      runtime: 'local',
      category: 'mesh',
      priority: 6,
      timeoutMs: 3_600_000,
      retry: { policy: 'none', maxAttempts: 1, baseDelayMs: 0, retryOnToolError: false },
      tags: ['admin', 'diagnostics']
    },
    handler: async ({ peer, tool, arguments: args, timeoutMs }, ctx): Promise<CallToolResult> => {
      const started = performance.now()
      const result = await callPeer(peer, tool, args, ctx, timeoutMs)
      const output = {
        peer,
        tool,
        isError: result.isError === true,
        content: result.content,
        structuredContent: result.structuredContent,
        latencyMs: Math.round((performance.now() - started) * 1000) / 1000
      }
      return { ...structuredResult(output), isError: result.isError === true }
    }
  })
}
