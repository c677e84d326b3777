import { createHash } from 'node:crypto'
import { z } from 'zod'
import { defineTool } from '../define.js'
import type { Tool } from '../types.js'

export function createSha256Tool(): Tool {
  return defineTool({
    name: 'sha256',
    title: 'SHA-256',
    description: 'Computes the SHA-256 digest (hex) of a UTF-8 string, or of base64 data when encoding is "base64".',
    inputSchema: z.object({
      data: z.string().max(16_000_000).describe('Input to hash'),
      encoding: z.enum(['utf8', 'base64']).default('utf8').describe('How `data` is encoded')
    }),
    outputSchema: z.object({ hex: z.string().length(64), bytes: z.number().int().min(0) }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: {
      runtime: 'auto',
      category: 'demo',
      priority: 5,
      timeoutMs: 10_000,
      retry: { policy: 'linear', maxAttempts: 3, baseDelayMs: 50, retryOnToolError: false },
      tags: ['demo', 'crypto'],
      hints: { cpu: 'medium', memory: 'low', io: 'low' },
      export: true
    },
    handler: async ({ data, encoding }) => {
      const buffer = Buffer.from(data, encoding)
      return { hex: createHash('sha256').update(buffer).digest('hex'), bytes: buffer.byteLength }
    }
  })
}
