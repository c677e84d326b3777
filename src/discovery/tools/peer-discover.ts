import { z } from 'zod'
import { DISCOVERY_METHODS } from '../discover.js'
import type { Discovery } from '../index.js'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import { bootstrapPeerSchema, peerToolMeta } from './schemas.js'

const peerIds = z.array(z.string())

export function createPeerDiscoverTool(discovery: Discovery): Tool {
  return defineTool({
    name: 'peer_discover',
    title: 'Discover peers now',
    description:
      'Runs discovery now and reports what each method found: bootstrap (re-dial peers that are down), known (re-dial stored peers), mdns (LAN query), dht (self lookup and a random walk) and mesh (look up and connect to the providers of our mesh name).',
    inputSchema: z.object({
      methods: z.array(z.enum(DISCOVERY_METHODS)).min(1).optional().describe('Default: all'),
      timeoutMs: z.number().int().min(100).max(60_000).default(5_000).describe('Bound for the whole run')
    }),
    outputSchema: z.object({
      durationMs: z.number(),
      connectedBefore: z.number().int(),
      connectedAfter: z.number().int(),
      bootstrap: z
        .object({ peers: z.number().int(), connected: z.number().int(), states: z.array(bootstrapPeerSchema) })
        .optional(),
      known: z.object({ attempted: peerIds, connected: peerIds, errors: z.record(z.string(), z.string()) }).optional(),
      mdns: z.object({ enabled: z.boolean(), found: peerIds, error: z.string().optional() }).optional(),
      dht: z
        .object({
          routingTableBefore: z.number().int(),
          routingTableAfter: z.number().int(),
          found: peerIds,
          error: z.string().optional()
        })
        .optional(),
      mesh: z
        .union([
          z.object({
            cid: z.string().optional(),
            providers: peerIds,
            dialed: peerIds,
            connected: peerIds,
            foreign: peerIds,
            errors: z.record(z.string(), z.string()),
            durationMs: z.number()
          }),
          z.object({ error: z.string() })
        ])
        .optional()
    }),
    annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: true },
    meta: peerToolMeta({ priority: 6, timeoutMs: 65_000 }),
    handler: async ({ methods, timeoutMs }, ctx) => discovery.discover({ methods, timeoutMs, signal: ctx.signal })
  })
}
