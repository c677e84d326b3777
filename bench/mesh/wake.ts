/**
 * What a round trip between two processes costs on this machine, apart from
 * the work at either end (issue 12's question: why is the remote path more
 * than local + floor, even for a forwarder doing nothing?). Two measures,
 * both on the floor's echo protocol and client (raw-echo-client.js):
 *
 * 1. **Node or bare peer.** The echo answered by a whole mcp-mesh node
 *    (node-echo-peer.js: every service a node runs) against the bare libp2p
 *    peer (raw-echo-peer.js), in alternating rounds: p50 of one reused
 *    stream, the rate over 64 streams, the peer's CPU per round trip.
 * 2. **The caller's wait.** The bare peer busy for X µs before each answer
 *    (BENCH_ECHO_SPIN_US): the round trip's p50 minus X is what the two
 *    hops cost when the caller waits that long. On a machine whose idle
 *    cores are cheap to wake it stays flat.
 *
 *   node dist/bench/mesh/wake.js   (on the pinned node@22; prints Markdown)
 *   BENCH_WAKE_ROUNDS (7), BENCH_WAKE_SEQ (1000 round trips per sample),
 *   BENCH_WAKE_MANY (20000 round trips over 64 streams), BENCH_WAKE_SPINS
 *   (µs, comma-separated; default 0,25,50,75,100,150,200,300).
 */
import { loadavg } from 'node:os'
import { ROOT } from '../foundation/paths.js'
import { cpuTimeMs } from '../foundation/processes.js'
import { envInt, fmt, summarize } from '../foundation/stats.js'
import { type Floor, startFloor } from './baselines.js'

const rounds = envInt('BENCH_WAKE_ROUNDS', 7)
const seq = envInt('BENCH_WAKE_SEQ', 1000)
const many = envInt('BENCH_WAKE_MANY', 20_000)
const spins = (process.env.BENCH_WAKE_SPINS ?? '0,25,50,75,100,150,200,300').split(',').map(Number)
if (spins.some((spin) => !Number.isFinite(spin) || spin < 0)) throw new Error('BENCH_WAKE_SPINS: µs, comma-separated')

const median = (values: readonly number[]): number => summarize(values).p50

interface Sample {
  p50: number
  rate: number
  cpuSeq: number
  cpuMany: number
}

/** One sample of a floor: its p50 (ms), its rate, its echo peer's CPU per round trip (µs) in each. */
async function sample(floor: Floor): Promise<Sample> {
  const peer = floor.pids[0]!
  const c0 = cpuTimeMs(peer)
  const p50 = median(await floor.one(seq))
  const c1 = cpuTimeMs(peer)
  const rate = await floor.many(many)
  const c2 = cpuTimeMs(peer)
  return { p50, rate, cpuSeq: ((c1 - c0) * 1000) / seq, cpuMany: ((c2 - c1) * 1000) / many }
}

const startLoad = loadavg()[0]!
const lines: string[] = []
const peers: Record<string, Floor> = {
  bare: await startFloor('bare', ROOT),
  node: await startFloor('node', ROOT, { script: 'node-echo-peer.js' })
}
try {
  const samples: Record<string, Sample[]> = { bare: [], node: [] }
  for (const floor of Object.values(peers)) {
    await floor.one(seq)
    await floor.many(many)
  }
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['bare', 'node'] : ['node', 'bare']
    for (const label of order) samples[label]!.push(await sample(peers[label]!))
    process.stderr.write(`wake: round ${round + 1}/${rounds}\n`)
  }
  lines.push(
    `### The floor's echo answered by a whole node or a bare peer (${rounds} alternating rounds; medians)`,
    '',
    '| peer | p50 ms, 1 reused stream | round trips/s, 64 streams | peer CPU µs per round trip, sequential / 64 streams |',
    '|---|---|---|---|'
  )
  for (const [label, list] of Object.entries(samples)) {
    const name = label === 'bare' ? 'bare libp2p node (tcp, noise, yamux)' : 'a whole mcp-mesh node'
    lines.push(
      `| ${name} | ${fmt(median(list.map((s) => s.p50)))} | ${Math.round(median(list.map((s) => s.rate)))} | ${fmt(median(list.map((s) => s.cpuSeq)), 1)} / ${fmt(median(list.map((s) => s.cpuMany)), 1)} |`
    )
  }
} finally {
  for (const floor of Object.values(peers)) await floor.stop()
}

lines.push(
  '',
  `### The caller's wait: the bare peer busy X µs before each answer (3 samples of ${seq} round trips each; medians)`,
  '',
  '| X µs | p50 µs | p50 − X µs |',
  '|---|---|---|'
)
for (const spin of spins) {
  const floor = await startFloor(`spin-${spin}`, ROOT, { env: { BENCH_ECHO_SPIN_US: String(spin) } })
  try {
    await floor.one(seq)
    const p50s: number[] = []
    for (let i = 0; i < 3; i++) p50s.push(median(await floor.one(seq)) * 1000)
    const p50 = median(p50s)
    lines.push(`| ${spin} | ${fmt(p50, 1)} | ${fmt(p50 - spin, 1)} |`)
  } finally {
    await floor.stop()
  }
}
lines.push('', `Load average ${fmt(startLoad, 2)} at the start, ${fmt(loadavg()[0]!, 2)} at the end.`)
process.stdout.write(`${lines.join('\n')}\n`)
process.exit(0)
