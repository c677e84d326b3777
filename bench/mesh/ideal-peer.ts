/**
 * The far end of the speed bench's "ideal" remote path: a bare js-libp2p
 * peer (tcp, noise, yamux) answering each length-prefixed JSON-RPC
 * `tools/call` with a text result holding `arguments.message`. No MCP SDK,
 * no authorization, no schema: less than any mesh node can do. Prints its
 * address on stdout and serves until killed.
 */
import { lpStream } from '@libp2p/utils'
import { bareNode, serveUntilKilled } from './bare-node.js'
import { IDEAL_PROTOCOL } from './constants.js'

interface Call {
  id: string | number
  params?: { arguments?: { message?: unknown } }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const node = await bareNode(true)
await node.handle(
  IDEAL_PROTOCOL,
  async (stream) => {
    const lp = lpStream(stream)
    // Answers made in one turn go out in one write (calls are pipelined on one stream).
    let answers: Uint8Array[] = []
    const flush = (): void => {
      const batch = answers
      answers = []
      void lp.writeV(batch)
    }
    for (;;) {
      const request = await lp.read().catch(() => undefined)
      if (request == null) return
      const call = JSON.parse(decoder.decode(request.subarray())) as Call
      const text = String(call.params?.arguments?.message ?? '')
      if (answers.length === 0) setImmediate(flush)
      answers.push(
        encoder.encode(JSON.stringify({ jsonrpc: '2.0', id: call.id, result: { content: [{ type: 'text', text }] } }))
      )
    }
  },
  { maxInboundStreams: 4 }
)
serveUntilKilled(node)
