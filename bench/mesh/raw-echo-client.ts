/**
 * The client side of the floor (bare js-libp2p request/response), in its own
 * process so that the floor can be measured with any checkout's packages
 * (stock or patched). Argument: the echo peer's address. Opens 64 streams,
 * then answers commands on stdin, one JSON line each on stdout:
 *   `seq N`  -> {"samples": [ms, ...]}  N round trips on one stream
 *   `many N` -> {"rate": calls/s}        N round trips over the 64 streams
 */
import { createInterface } from 'node:readline'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { bareNode } from './bare-node.js'
import { RAW_ECHO_PROTOCOL } from './constants.js'

const STREAMS = 64
const address = process.argv[2]
if (address == null) throw new Error('usage: raw-echo-client <multiaddr>')
const node = await bareNode()
const payload = new TextEncoder().encode(
  JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'remote_echo', arguments: { message: 'hello' } }
  })
)
const streams = await Promise.all(
  Array.from({ length: STREAMS }, async () => lpStream(await node.dialProtocol(multiaddr(address), RAW_ECHO_PROTOCOL)))
)
const roundTrip = async (lp: (typeof streams)[number]): Promise<void> => {
  await lp.write(payload)
  await lp.read()
}
process.stdout.write('ready\n')
for await (const line of createInterface({ input: process.stdin })) {
  const [command, count] = line.trim().split(' ')
  const n = Number(count)
  if (command === 'seq') {
    const samples: number[] = []
    for (let i = 0; i < n; i++) {
      const started = performance.now()
      await roundTrip(streams[0]!)
      samples.push(performance.now() - started)
    }
    process.stdout.write(`${JSON.stringify({ samples })}\n`)
  } else if (command === 'many') {
    let next = 0
    const started = performance.now()
    await Promise.all(
      streams.map(async (lp) => {
        while (next < n) {
          next++
          await roundTrip(lp)
        }
      })
    )
    process.stdout.write(`${JSON.stringify({ rate: (n / (performance.now() - started)) * 1000 })}\n`)
  } else break
}
await node.stop()
process.exit(0)
