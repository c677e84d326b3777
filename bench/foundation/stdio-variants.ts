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
 * A variant is `label=<checkout>` with an optional `+<NODE_OPTIONS>`; a
 * label starting with `front` runs that checkout's front-only server
 * (dist/bench/foundation/front-server.js) instead of `start --foreground`,
 * one starting with `bridged` runs `start` as an MCP client does (the
 * launcher bridges stdio to the detached node it starts; CPU is the
 * bridge's plus the node's).
 * BENCH_ROUNDS (8), BENCH_CALLS (calls per target per round, 1,000), BENCH_WARMUP (500).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { connectStdioWithPid, cpuTimeMs, disposeAll, everythingTarget, LOOPBACK, makeHome } from './processes.js'
import type { StdioTarget } from './processes.js'
import { NODE } from './paths.js'
import { envInt, fmt, summarize, timeSequential } from './stats.js'

interface Variant {
  label: string
  target: StdioTarget
  /** The detached node's home (bridged variants): its pid is found once connected. */
  home?: string
}

/** The pid of the detached node serving `home` (its command line names the home). */
function detachedNodePid(home: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      if (args.includes('--detached-for-home') && args.includes(home)) return Number(entry)
    } catch {}
  }
  throw new Error(`no detached node found for ${home}`)
}

async function parseVariants(spec: string): Promise<Variant[]> {
  const variants: Variant[] = []
  for (const entry of spec.split(',').filter((e) => e.trim() !== '')) {
    const eq = entry.indexOf('=')
    const label = entry.slice(0, eq)
    const [checkout, nodeOptions] = entry.slice(eq + 1).split('+') as [string, string | undefined]
    const env = nodeOptions != null ? { NODE_OPTIONS: nodeOptions } : undefined
    if (label.startsWith('front')) {
      const args = [join(checkout, 'dist', 'bench', 'foundation', 'front-server.js')]
      variants.push({ label, target: { label, command: NODE, args, env } })
      continue
    }
    const home = await makeHome(join(checkout, 'bin', 'mcp-mesh.js'))
    const bridged = label.startsWith('bridged')
    const args = [join(checkout, 'bin', 'mcp-mesh.js'), 'start', ...(bridged ? [] : ['--foreground'])]
    const target = { label, command: NODE, args: [...args, '--home', home, ...LOOPBACK], env }
    variants.push({ label, target, ...(bridged && { home }) })
  }
  return variants
}

const spec = process.env.BENCH_STDIO_VARIANTS
if (spec == null || spec === '') throw new Error('set BENCH_STDIO_VARIANTS=label=/checkout[+node options],...')
const rounds = envInt('BENCH_ROUNDS', 8)
const calls = envInt('BENCH_CALLS', 1000)
const warmup = envInt('BENCH_WARMUP', 500)
const load = [loadavg()[0]!]
const bridgedHomes: string[] = []
try {
  const variants: Variant[] = [...(await parseVariants(spec)), { label: 'reference', target: everythingTarget() }]
  for (const variant of variants) if (variant.home != null) bridgedHomes.push(variant.home)
  const targets = []
  for (const variant of variants) {
    const { client, pid } = await connectStdioWithPid(variant.target)
    const echo = async (): Promise<unknown> => client.callTool({ name: 'echo', arguments: { message: 'hello mesh' } })
    const pids = variant.home != null ? [pid, detachedNodePid(variant.home)] : [pid]
    targets.push({
      label: variant.label,
      pids,
      echo,
      latencies: [] as number[],
      roundP50s: [] as number[],
      cpuMs: 0,
      perRound: [] as string[]
    })
  }
  for (const target of targets) await timeSequential(warmup, target.echo)
  for (let round = 0; round < rounds; round++) {
    const shift = round % targets.length
    const order = [...targets.slice(shift), ...targets.slice(0, shift)]
    for (const target of round % 2 === 0 ? order : order.reverse()) {
      const cpu = (): number => target.pids.reduce((sum, pid) => sum + cpuTimeMs(pid), 0)
      const before = cpu()
      const samples = await timeSequential(calls, target.echo)
      const used = cpu() - before
      target.cpuMs += used
      target.latencies.push(...samples)
      target.roundP50s.push(summarize(samples).p50)
      target.perRound.push(`${fmt(summarize(samples).p50)}/${Math.round((used * 1000) / calls)}`)
    }
  }
  load.push(loadavg()[0]!)
  process.stdout.write(
    `stdio echo, ${rounds} rounds × ${calls} sequential calls, load ${load.map((l) => l.toFixed(2)).join(' → ')}\n`
  )
  // Pooled p50 over every call, and the median of the rounds' p50s (robust to a round the machine's load spoiled).
  const reference = summarize(targets.at(-1)!.latencies).p50
  const referenceRounds = summarize(targets.at(-1)!.roundP50s).p50
  for (const target of targets) {
    const p50 = summarize(target.latencies).p50
    const roundsP50 = summarize(target.roundP50s).p50
    process.stdout.write(
      `${target.label.padEnd(18)} p50 ${fmt(p50)} ms (${fmt(p50 / reference, 2)}×), rounds' median ${fmt(roundsP50)} ms (${fmt(roundsP50 / referenceRounds, 2)}×)  CPU ${fmt((target.cpuMs * 1000) / (rounds * calls), 1)} µs/call  rounds p50/CPU: ${target.perRound.join(' ')}\n`
    )
  }
} finally {
  await disposeAll()
  // A bridged variant's detached node outlives its client for a grace period: stop it now.
  for (const home of bridgedHomes) {
    try {
      process.kill(detachedNodePid(home), 'SIGTERM')
    } catch {}
  }
}
