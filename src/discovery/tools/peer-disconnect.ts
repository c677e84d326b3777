import { z } from 'zod'
import { peerIdString } from '../address.js'
import type { Discovery } from '../index.js'
import { defineTool } from '../../tools/define.js'
import type { Tool } from '../../tools/types.js'
import { peerToolMeta } from './schemas.js'

export function createPeerDisconnectTool(discovery: Discovery): Tool {
  return defineTool({
    name: 'peer_disconnect',
    title: 'Disconnect from a peer',
    description:
      'Closes every connection to a peer. Bootstrap peers and known peers are dialled again later by discovery (with backoff); this is not a ban.',
    inputSchema: z.object({ peer: peerIdString.describe('PeerId of the peer') }),
    outputSchema: z.object({ peer: z.string(), closed: z.number().int() }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    meta: peerToolMeta(),
    handler: async ({ peer }, ctx) => discovery.disconnect(peer, { signal: ctx.signal })
  })
}
