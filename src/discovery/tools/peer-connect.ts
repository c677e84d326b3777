import { z } from 'zod'
import { dialTargetString } from '../address.js'
import type { Discovery } from '../index.js'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import { connectionSchema, peerToolMeta } from './schemas.js'

export function createPeerConnectTool(discovery: Discovery): Tool {
  return defineTool({
    name: 'peer_connect',
    title: 'Connect to a peer',
    description:
      'Dials a peer by multiaddr (/ip4, /ip6, /dns4, /dns6, /dnsaddr, or a relay address …/p2p-circuit/p2p/<id>) or by PeerId (found in the peer store or the DHT), and reports the connection and its latency.',
    inputSchema: z.object({
      address: dialTargetString.describe('Multiaddr ending in /p2p/<id>, or a bare PeerId'),
      timeoutMs: z
        .number()
        .int()
        .positive()
        .max(120_000)
        .optional()
        .describe('Give up after this long (default: connections.dialTimeoutMs)')
    }),
    outputSchema: z.object({
      peer: z.string(),
      alreadyConnected: z.boolean(),
      address: z.string().optional(),
      relayed: z.boolean(),
      connections: z.array(connectionSchema),
      latencyMs: z.number().optional(),
      durationMs: z.number()
    }),
    annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: true },
    meta: peerToolMeta({ timeoutMs: 125_000 }),
    handler: async ({ address, timeoutMs }, ctx) => discovery.connect(address, { timeoutMs, signal: ctx.signal })
  })
}
