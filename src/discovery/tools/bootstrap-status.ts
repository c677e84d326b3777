import { z } from 'zod'
import type { Discovery } from '../index.js'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import { bootstrapPeerSchema, peerToolMeta } from './schemas.js'

export function createBootstrapStatusTool(discovery: Discovery): Tool {
  return defineTool({
    name: 'bootstrap_status',
    title: 'Bootstrap status',
    description:
      'State of every bootstrap peer: connected, dialling, or waiting to retry (attempts, consecutive failures, last error, next attempt). Bootstrap peers are trusted for discovery.',
    inputSchema: z.object({}),
    outputSchema: z.object({
      total: z.number().int(),
      connected: z.number().int(),
      peers: z.array(bootstrapPeerSchema)
    }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    meta: peerToolMeta({ timeoutMs: 5_000 }),
    handler: async () => {
      const peers = discovery.bootstrapStatus()
      return { total: peers.length, connected: peers.filter((p) => p.state === 'connected').length, peers }
    }
  })
}
