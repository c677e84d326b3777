import { z } from 'zod'
import { defineTool } from '../define.js'
import type { Tool } from '../types.js'

export function createEchoTool(): Tool {
  return defineTool({
    name: 'echo',
    title: 'Echo',
    description: 'Returns the message it is given. Handy to check that a node, or a peer through the mesh, answers.',
    inputSchema: z.object({ message: z.string().max(1_000_000).describe('Text to send back') }),
    outputSchema: z.object({ message: z.string() }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: {
      runtime: 'auto',
      category: 'demo',
      priority: 5,
      timeoutMs: 5_000,
      retry: { policy: 'linear', maxAttempts: 3, baseDelayMs: 50, retryOnToolError: false },
      tags: ['demo'],
      hints: { cpu: 'low', memory: 'low', io: 'low' },
      export: true
    },
    handler: async ({ message }) => ({ message })
  })
}
