/**
 * The near end of the speed bench's "ideal" remote path: an MCP stdio
 * endpoint that answers `initialize` and `tools/list` itself and forwards
 * every `tools/call` line, unparsed, over one libp2p stream to the ideal
 * peer (argument: its address), writing the peer's answer bytes back as they
 * come. No SDK, no routing, no authorization, no validation of the peer's
 * answer: the least any design of node A does, so (mesh remote - ideal) is
 * the nodes' own per-call work. Bench only; never a model for the node.
 */
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { bareNode } from './bare-node.js'
import { IDEAL_PROTOCOL } from './constants.js'

interface Message {
  id?: string | number
  method?: string
  params?: { protocolVersion?: string }
}

const address = process.argv[2]
if (address == null) throw new Error('usage: ideal-proxy <multiaddr>')
const NEWLINE = Buffer.from('\n')
const node = await bareNode()
const lp = lpStream(await node.dialProtocol(multiaddr(address), IDEAL_PROTOCOL))
const answer = (id: string | number, result: unknown): void => {
  process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id, result })}\n`)
}

// Answers read in one turn go out in one write (as the node's own stdout writer batches them).
let outgoing: Uint8Array[] = []
const flushOut = (): void => {
  const chunks = outgoing
  outgoing = []
  process.stdout.write(Buffer.concat(chunks))
}
void (async () => {
  for (;;) {
    const reply = await lp.read().catch(() => undefined)
    if (reply == null) return
    if (outgoing.length === 0) setImmediate(flushOut)
    outgoing.push(reply.subarray(), NEWLINE)
  }
})()

let pending = ''
process.stdin.on('data', (chunk: Buffer) => {
  pending += chunk.toString('utf8')
  // Every call in this chunk goes to the peer in one write.
  const calls: Buffer[] = []
  for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
    const line = pending.slice(0, newline)
    pending = pending.slice(newline + 1)
    if (line.includes('"tools/call"')) {
      calls.push(Buffer.from(line))
      continue
    }
    const message = JSON.parse(line) as Message
    if (message.id == null || message.method == null) continue
    if (message.method === 'initialize') {
      answer(message.id, {
        protocolVersion: message.params?.protocolVersion,
        capabilities: { tools: {} },
        serverInfo: { name: 'ideal-proxy', version: '0.0.0' }
      })
    } else if (message.method === 'tools/list') {
      answer(message.id, { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] })
    } else answer(message.id, {})
  }
  if (calls.length > 0) void lp.writeV(calls)
})
process.stdin.on('end', () => {
  void Promise.resolve(node.stop()).then(() => process.exit(0))
})
