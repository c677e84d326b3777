import { z } from 'zod'
import { peerIdString } from '../address.js'
import type { Discovery } from '../index.js'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import { peerDetailsSchema, peerToolMeta } from './schemas.js'

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
    meta: peerToolMeta(),
    handler: async ({ peer, ping }, ctx) => discovery.peerInfo(peer, { ping, signal: ctx.signal })
  })
}
