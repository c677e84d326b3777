import { z } from 'zod'
import { peerIdString } from '../../discovery/address.js'
import type { Discovery } from '../../discovery/discovery.js'
import { defineTool } from '../define.js'
import type { Tool } from '../types.js'
import { PEER_TOOL_RETRY, peerDetailsSchema } from './schemas.js'

export function createPeerInfoTool(discovery: Discovery): Tool {
  return defineTool({
    name: 'peer_info',
    title: 'Peer info',
    description:
      'Everything this node knows about one peer: connections (direct or relayed, inbound or outbound), addresses, protocols, agent version, mesh membership, peer-store tags, last seen, and a ping latency.',
    inputSchema: z.object({
      peer: peerIdString.describe('PeerId of the peer (12D3KooW…)'),
      ping: z.boolean().default(true).describe('Measure latency with libp2p ping when connected')
    }),
    outputSchema: peerDetailsSchema,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
    meta: {
      runtime: 'local',
      category: 'peers',
      priority: 7,
      timeoutMs: 10_000,
      retry: PEER_TOOL_RETRY,
      tags: ['admin', 'discovery']
    },
    handler: async ({ peer, ping }, ctx) => discovery.peerInfo(peer, { ping, signal: ctx.signal })
  })
}
