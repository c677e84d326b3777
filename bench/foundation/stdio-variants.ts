/**
 * A/B of the stdio `echo` path: `start --foreground` of several checkouts
 * (or one checkout with different Node options) against the reference server,
 * in one run, rounds rotating between the targets. For each target: the
 * sequential p50 and the server's CPU time per sequential call (from /proc,
 * over the same blocks), plus the load average at the start and the end.
 *
 *   BENCH_STDIO_VARIANTS='main=/work/main,mine=/work/wt/x,mine-acf=/work/wt/x+--experimental-async-context-frame'
 *   node dist/bench/foundation/stdio-variants.js   (on the pinned node@22)
 *
 * A variant is `label=<checkout>` with an optional `+<NODE_OPTIONS>`; the
 * label `front=<checkout>` runs that checkout's front-only server
 * (dist/bench/foundation/front-server.js) instead of `start`.
 * BENCH_ROUNDS (8), BENCH_CALLS (calls per target per round, 1,000), BENCH_WARMUP (500).
 */
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { connectStdioWithPid, cpuTimeMs, disposeAll, everythingTarget, LOOPBACK, makeHome } from './processes.js'
import type { StdioTarget } from './processes.js'
import { NODE } from './paths.js'
import { envInt, fmt, summarize, timeSequential } from './stats.js'

interface Variant {
  label: string
  target: StdioTarget
}

async function parseVariants(spec: string): Promise<Variant[]> {
  const variants: Variant[] = []
  for (const entry of spec.split(',').filter((e) => e.trim() !== '')) {
    const eq = entry.indexOf('=')
    const label = entry.slice(0, eq)
    const [checkout, nodeOptions] = entry.slice(eq + 1).split('+') as [string, string | undefined]
    const env = nodeOptions != null ? { NODE_OPTIONS: nodeOptions } : undefined
    const target: StdioTarget = label.startsWith('front')
      ? { label, command: NODE, args: [join(checkout, 'dist', 'bench', 'foundation', 'front-server.js')], env }
      : {
          label,
          command: NODE,
          args: [
            join(checkout, 'bin', 'mcp-mesh.js'),
            'start',
            '--foreground',
            '--home',
            await makeHome(),
            ...LOOPBACK
          ],
          env
        }
    variants.push({ label, target })
  }
  return variants
}

const spec = process.env.BENCH_STDIO_VARIANTS
if (spec == null || spec === '') throw new Error('set BENCH_STDIO_VARIANTS=label=/checkout[+node options],...')
const rounds = envInt('BENCH_ROUNDS', 8)
const calls = envInt('BENCH_CALLS', 1000)
const warmup = envInt('BENCH_WARMUP', 500)
const load = [loadavg()[0]!]
try {
  const variants = [...(await parseVariants(spec)), { label: 'reference', target: everythingTarget() }]
  const targets = []
  for (const variant of variants) {
    const { client, pid } = await connectStdioWithPid(variant.target)
    const echo = async (): Promise<unknown> => client.callTool({ name: 'echo', arguments: { message: 'hello mesh' } })
    targets.push({ label: variant.label, pid, echo, latencies: [] as number[], cpuMs: 0, perRound: [] as string[] })
  }
  for (const target of targets) await timeSequential(warmup, target.echo)
  for (let round = 0; round < rounds; round++) {
    const shift = round % targets.length
    const order = [...targets.slice(shift), ...targets.slice(0, shift)]
    for (const target of round % 2 === 0 ? order : order.reverse()) {
      const before = cpuTimeMs(target.pid)
      const samples = await timeSequential(calls, target.echo)
      const used = cpuTimeMs(target.pid) - before
      target.cpuMs += used
      target.latencies.push(...samples)
      target.perRound.push(`${fmt(summarize(samples).p50)}/${Math.round((used * 1000) / calls)}`)
    }
  }
  load.push(loadavg()[0]!)
  process.stdout.write(
    `stdio echo, ${rounds} rounds × ${calls} sequential calls, load ${load.map((l) => l.toFixed(2)).join(' → ')}\n`
  )
  const reference = summarize(targets.at(-1)!.latencies).p50
  for (const target of targets) {
    const p50 = summarize(target.latencies).p50
    process.stdout.write(
      `${target.label.padEnd(14)} p50 ${fmt(p50)} ms (${fmt(p50 / reference, 2)}× ref)  CPU ${fmt((target.cpuMs * 1000) / (rounds * calls), 1)} µs/call  rounds p50/CPU: ${target.perRound.join(' ')}\n`
    )
  }
} finally {
  await disposeAll()
}
