/**
 * `node dist/bench/mesh/speed.js`: the mesh-call speed targets, measured in
 * interleaved rounds so that every figure shares the same machine load.
 *
 * Per round, for each build under test (a "variant": a checkout with its own
 * dist/ and node_modules), in rotating order:
 *  - remote: MCP stdio client -> node A -> /mcp+p2p -> node B -> back, 1 in flight;
 *  - local: `echo` on A over the same stdio client, 1 in flight;
 *  - then the same two with 64 in flight;
 * and once per round the floor: bare js-libp2p request/response between two
 * processes, one reused stream (1 in flight) and 64 streams in flight; and
 * the ideal remote path: the same client -> a bare stdio forwarder -> one
 * libp2p stream -> a bare JSON-RPC echo peer (./baselines.ts), none of a
 * node's per-call work, so (remote - ideal) is what the nodes' work costs.
 *
 * Reported: the median over rounds of each round's p50 and rate.
 *
 * BENCH_SPEED_VARIANTS=label=/path/to/root,label2=/other/root (default: this
 * checkout twice, "head" and "head-fg"); BENCH_SPEED_ROUNDS (7), BENCH_SPEED_CALLS (400 per
 * sequential sample), BENCH_SPEED_CONCURRENT (2000 per 64-in-flight sample),
 * BENCH_SPEED_WARMUP (3000 sequential and 3000 concurrent calls per path before the rounds).
 * BENCH_SPEED_NODE_OPTIONS=label:--flag --other;label2:... gives a variant's
 * nodes their own NODE_OPTIONS (the same checkout can then run twice, e.g.
 * main=/work/main,main-acf=/work/main with main-acf:--experimental-async-context-frame).
 * A variant whose label ends in "-fg" starts A as `start --foreground` (the
 * client talks to the node itself, as the stdio target measures it); the
 * others as a client launches `mcp-mesh start`: a bridge to a detached node,
 * one more process on every call's path. B is started the same way as A.
 * Writes bench/RESULTS-speed.md unless BENCH_NO_WRITE is set.
 */
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Client } from '@modelcontextprotocol/client'
import { tcpAddressOf } from '../configure.js'
import { floorRoots, startFloor, startIdeal } from './baselines.js'
import { NODE, ROOT } from '../foundation/paths.js'
import {
  connectStdioWithPid,
  cpuTimeMs,
  disposeAll,
  disposeProcess,
  LOOPBACK,
  lockHolder
} from '../foundation/processes.js'
import { envInt, fmt, summarize, timeConcurrent, timeSequential } from '../foundation/stats.js'
import { checkoutVariants } from '../foundation/variants.js'

const TOOLS = join(ROOT, 'bench', 'fixtures', 'bench-tools.mjs')
const CONCURRENCY = 64

interface Variant {
  label: string
  root: string
  /** NODE_OPTIONS of this variant's nodes (BENCH_SPEED_NODE_OPTIONS), else BENCH_CHILD_NODE_OPTIONS. */
  nodeOptions?: string
  a?: Client
  /** The processes of A and of B (their CPU time per call): the node and the `start` bridging to it. */
  pids?: [number[], number[]]
  /** `start --foreground`: no bridge (labels ending in "-fg"). */
  foreground: boolean
}

interface Sample {
  p50: number
  rate: number
  /** CPU µs per call of node A and node B (each with its bridge) during the sequential sample. */
  cpuA?: number
  cpuB?: number
  /** The same during the sample at 64 in flight. */
  cpuA64?: number
  cpuB64?: number
  /** CPU µs per call of the client (this process) during the sequential sample, and at 64 in flight. */
  cpuClient?: number
  cpuClient64?: number
}

type Series = Record<string, Sample[]>

function variants(): Variant[] {
  const options = variantNodeOptions()
  const variant = (label: string, root: string): Variant => ({
    label,
    root,
    nodeOptions: options.get(label),
    foreground: label.endsWith('-fg')
  })
  const listed = checkoutVariants('BENCH_SPEED_VARIANTS')
  if (listed == null) return [variant('head', ROOT), variant('head-fg', ROOT)]
  return listed.map(({ label, root }) => variant(label, root))
}

function variantNodeOptions(): Map<string, string> {
  const options = new Map<string, string>()
  for (const entry of (process.env.BENCH_SPEED_NODE_OPTIONS ?? '').split(';')) {
    const at = entry.indexOf(':')
    if (at > 0) options.set(entry.slice(0, at), entry.slice(at + 1))
  }
  return options
}

export async function initHome(root: string, patch: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-mesh-speed-'))
  const home = join(dir, 'home')
  await new Promise<void>((resolve, reject) => {
    const child = spawn(NODE, [join(root, 'bin', 'mcp-mesh.js'), 'init', '--home', home], {
      stdio: ['ignore', 'ignore', 'inherit']
    })
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`init exited ${code}`))))
  })
  const path = join(home, 'config.json')
  const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  config.addresses = { listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], noAnnounce: [] }
  config.discovery = { ...(config.discovery as object), mdns: { enabled: false } }
  await writeFile(path, JSON.stringify({ ...config, ...patch }, null, 2))
  process.on('exit', () => void rm(dir, { recursive: true, force: true }))
  return home
}

export async function startNode(
  root: string,
  patch: Record<string, unknown>,
  args: string[] = [],
  nodeOptions: string | undefined = process.env.BENCH_CHILD_NODE_OPTIONS
): Promise<{ client: Client; pid: number; pids: number[] }> {
  const home = await initHome(root, { catalog: { advertIntervalMs: 1000, peerTtlMs: 5000 }, ...patch })
  const { client, pid } = await connectStdioWithPid({
    label: `mcp-mesh start (${root})`,
    command: NODE,
    args: [join(root, 'bin', 'mcp-mesh.js'), 'start', '--home', home, ...LOOPBACK, ...args],
    // BENCH_CHILD_NODE_OPTIONS: e.g. --cpu-prof for the nodes only.
    env: nodeOptions != null ? { NODE_OPTIONS: nodeOptions } : {}
  })
  // Plain `start` without a TTY bridges to a detached node (the lock holder); the work is there.
  await client.listTools()
  const node = (await lockHolder(home)) ?? pid
  if (node !== pid) disposeProcess(node)
  return { client, pid: node, pids: [...new Set([node, pid, ...childPids(pid)])] }
}

/** The children of `pid` (the launcher re-executing itself on an older Node). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((p) => p !== '')
      .map(Number)
  } catch {
    return []
  }
}

function cpuOf(pids: number[]): number {
  let total = 0
  for (const pid of pids) total += cpuTimeMs(pid)
  return total
}

async function waitForTool(client: Client, name: string): Promise<void> {
  const until = Date.now() + 60_000
  while (Date.now() < until) {
    if ((await client.listTools()).tools.some((tool) => tool.name === name)) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`${name} never appeared`)
}

async function startPair(variant: Variant): Promise<void> {
  const options = variant.nodeOptions ?? process.env.BENCH_CHILD_NODE_OPTIONS
  const mode = variant.foreground ? ['--foreground'] : []
  const { client: b, pids: pidsB } = await startNode(variant.root, { tools: [TOOLS] }, mode, options)
  const status = (await b.callTool({ name: 'mesh_status', arguments: {} })).structuredContent as {
    addresses: string[]
  }
  const { client: a, pids: pidsA } = await startNode(
    variant.root,
    {},
    [...mode, '--bootstrap', tcpAddressOf(status)],
    options
  )
  await waitForTool(a, 'remote_echo')
  variant.a = a
  variant.pids = [pidsA, pidsB]
}

/** µs of CPU (user + system) this process spent between two `process.cpuUsage()` readings. */
function cpuSpent(from: NodeJS.CpuUsage, to: NodeJS.CpuUsage): number {
  return to.user - from.user + (to.system - from.system)
}

function push(series: Series, key: string, sample: Sample): void {
  const list = series[key] ?? []
  list.push(sample)
  series[key] = list
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export interface SpeedResults {
  date: string
  loadAverage: { start: number; end: number }
  /** The machine's cores (what the rate bound divides). */
  cpus?: number
  rounds: number
  calls: number
  concurrent: number
  /** Per key ("floor", "<variant>/remote", "<variant>/local"): median over rounds of p50 (ms) and rate (calls/s). */
  medians: Record<
    string,
    {
      p50: number
      p50_64: number
      rate64: number
      cpuA: number
      cpuB: number
      cpuA64?: number
      cpuB64?: number
      cpuClient?: number
      cpuClient64?: number
    }
  >
  series: Series
}

/**
 * One sequential sample and one at 64 in flight of `tool` through `client`, with the CPU per call of the path's
 * two processes (A and B, each possibly several pids) and of this process (the client).
 */
async function measurePath(
  client: Client,
  tool: string,
  [pidA, pidB]: [number[], number[]],
  calls: number,
  concurrent: number
): Promise<Sample & { latencies: number[] }> {
  const call = async (i: number): Promise<unknown> => client.callTool({ name: tool, arguments: { message: `m${i}` } })
  const cpu0 = [cpuOf(pidA), cpuOf(pidB)]
  const client0 = process.cpuUsage()
  const seq = summarize(await timeSequential(calls, call))
  const cpu1 = [cpuOf(pidA), cpuOf(pidB)]
  const client1 = process.cpuUsage()
  const many = await timeConcurrent(concurrent, CONCURRENCY, call)
  const client2 = process.cpuUsage()
  return {
    p50: seq.p50,
    rate: many.callsPerSecond,
    cpuA: ((cpu1[0]! - cpu0[0]!) * 1000) / calls,
    cpuB: ((cpu1[1]! - cpu0[1]!) * 1000) / calls,
    cpuA64: ((cpuOf(pidA) - cpu1[0]!) * 1000) / concurrent,
    cpuB64: ((cpuOf(pidB) - cpu1[1]!) * 1000) / concurrent,
    cpuClient: cpuSpent(client0, client1) / calls,
    cpuClient64: cpuSpent(client1, client2) / concurrent,
    latencies: many.latencies
  }
}

export async function runSpeed(): Promise<SpeedResults> {
  const rounds = envInt('BENCH_SPEED_ROUNDS', 7)
  const calls = envInt('BENCH_SPEED_CALLS', 400)
  const concurrent = envInt('BENCH_SPEED_CONCURRENT', 2000)
  const warmup = envInt('BENCH_SPEED_WARMUP', 3000)
  const loadStart = loadavg()[0] ?? 0
  const list = variants()
  for (const variant of list) await startPair(variant)
  const profileCalls = Number(process.env.BENCH_SPEED_PROFILE ?? 0)
  if (profileCalls > 0) {
    // Only the remote path, sequentially (for --cpu-prof of the nodes).
    for (const variant of list) {
      await timeSequential(profileCalls, async (i) =>
        variant.a!.callTool({ name: 'remote_echo', arguments: { message: `m${i}` } })
      )
    }
  }
  const floors = await Promise.all(floorRoots().map(async ({ label, root }) => startFloor(label, root)))
  const ideal = await startIdeal()
  const series: Series = {}
  const call =
    (client: Client, name: string) =>
    async (i: number): Promise<unknown> =>
      client.callTool({ name, arguments: { message: `m${i}` } })
  // Warm-up: JIT, pooled streams, catalog. With 200 sequential and 640 concurrent calls, the first two rounds were
  // still V8 tiering up (remote p50 1.2-3.6 ms against 0.4-0.6 in the later rounds; the floor 0.18-0.25 against
  // 0.07-0.16), and two cold rounds out of seven moved the median: every path now runs `warmup` calls of each kind.
  for (const variant of list) {
    for (const tool of ['remote_echo', 'echo']) {
      await timeSequential(warmup, call(variant.a!, tool))
      await timeConcurrent(warmup, CONCURRENCY, call(variant.a!, tool))
    }
  }
  for (const floor of floors) {
    await floor.one(warmup)
    await floor.many(warmup)
  }
  await timeSequential(warmup, call(ideal.client, 'echo'))
  await timeConcurrent(warmup, CONCURRENCY, call(ideal.client, 'echo'))

  for (let round = 0; round < rounds; round++) {
    process.stderr.write(`speed: round ${round + 1}/${rounds} (load ${fmt(loadavg()[0] ?? 0, 2)})\n`)
    const order = list.map((_, i) => list[(i + round) % list.length]!)
    const floorFirst = round % 2 === 0
    const measureBaselines = async (): Promise<void> => {
      for (const floor of floors) {
        const seq = summarize(await floor.one(calls))
        // The floor's two processes at 64 in flight, as cpuA64 (echo peer) and cpuB64 (its client).
        const cpu0 = floor.pids.map((pid) => cpuTimeMs(pid))
        const rate = await floor.many(concurrent)
        const [cpuA64, cpuB64] = floor.pids.map((pid, i) => ((cpuTimeMs(pid) - cpu0[i]!) * 1000) / concurrent)
        push(series, floor.label, { p50: seq.p50, rate, cpuA64, cpuB64 })
      }
      push(
        series,
        'ideal',
        await measurePath(ideal.client, 'echo', [[ideal.pids[0]], [ideal.pids[1]]], calls, concurrent)
      )
    }
    if (floorFirst) await measureBaselines()
    for (const variant of order) {
      for (const [kind, tool] of [
        ['remote', 'remote_echo'],
        ['local', 'echo']
      ] as const) {
        const sample = await measurePath(variant.a!, tool, variant.pids!, calls, concurrent)
        const { latencies, ...figures } = sample
        push(series, `${variant.label}/${kind}`, figures)
        push(series, `${variant.label}/${kind}@64`, { p50: summarize(latencies).p50, rate: figures.rate })
      }
    }
    if (!floorFirst) await measureBaselines()
  }
  for (const floor of floors) await floor.stop()
  ideal.stop()
  const medians: SpeedResults['medians'] = {}
  for (const key of Object.keys(series)) {
    if (key.endsWith('@64')) continue
    const samples = series[key]!
    const at64 = series[`${key}@64`]
    medians[key] = {
      p50: median(samples.map((s) => s.p50)),
      p50_64: at64 != null ? median(at64.map((s) => s.p50)) : Number.NaN,
      rate64: median(samples.map((s) => s.rate)),
      cpuA: median(samples.map((s) => s.cpuA ?? Number.NaN)),
      cpuB: median(samples.map((s) => s.cpuB ?? Number.NaN)),
      cpuA64: median(samples.map((s) => s.cpuA64 ?? Number.NaN)),
      cpuB64: median(samples.map((s) => s.cpuB64 ?? Number.NaN)),
      cpuClient: median(samples.map((s) => s.cpuClient ?? Number.NaN)),
      cpuClient64: median(samples.map((s) => s.cpuClient64 ?? Number.NaN))
    }
  }
  return {
    date: new Date().toISOString(),
    loadAverage: { start: loadStart, end: loadavg()[0] ?? 0 },
    cpus: availableParallelism(),
    rounds,
    calls,
    concurrent,
    medians,
    series
  }
}

export function renderSpeed(r: SpeedResults): string {
  const floorKeys = Object.keys(r.medians).filter((k) => k.startsWith('floor'))
  // The target's floor: the patched packages' when measured (the faster, stricter one), else the only one.
  const floorKey = floorKeys.includes('floor-patched') ? 'floor-patched' : floorKeys[0]!
  const floor = r.medians[floorKey]!
  const cpus = r.cpus ?? availableParallelism()
  const lines: string[] = []
  lines.push(`## Mesh call speed (interleaved rounds)

Measured ${r.date}; ${r.rounds} rounds, ${r.calls} sequential calls and ${r.concurrent} calls at ${CONCURRENCY} in flight per sample;
load average ${fmt(r.loadAverage.start, 2)} at the start, ${fmt(r.loadAverage.end, 2)} at the end. Medians over rounds of each round's figure.

CPU per call: each node's process plus, unless the variant's label ends in "-fg" (\`start --foreground\`), the
\`start\` process bridging stdio to it (a detached node, as a client launching \`mcp-mesh start\` gets), from /proc
(10 ms ticks); the client is the reference SDK client in the bench's process (\`process.cpuUsage\`); sequential
sample / ${CONCURRENCY}-in-flight sample. The floor's columns: its echo peer (A) and its client (B), at ${CONCURRENCY} in flight.

| path | p50 ms (1 in flight) | rate at ${CONCURRENCY} in flight | CPU µs/call A | B | client |
|---|---|---|---|---|---|`)
  for (const key of floorKeys) {
    const f = r.medians[key]!
    lines.push(
      `| ${key}: bare js-libp2p, one reused stream / ${CONCURRENCY} streams, 2 processes | ${fmt(f.p50)} | ${Math.round(f.rate64)}/s | ${fmt(f.cpuA64 ?? Number.NaN, 0)} | ${fmt(f.cpuB64 ?? Number.NaN, 0)} | |`
    )
  }
  const ideal = r.medians.ideal
  if (ideal != null) {
    lines.push(
      `| ideal: bare stdio forwarder -> one libp2p stream -> bare JSON-RPC echo peer (none of a node's work) | ${fmt(ideal.p50)} | ${Math.round(ideal.rate64)}/s | ${fmt(ideal.cpuA, 0)} / ${fmt(ideal.cpuA64 ?? Number.NaN, 0)} | ${fmt(ideal.cpuB, 0)} / ${fmt(ideal.cpuB64 ?? Number.NaN, 0)} | ${fmt(ideal.cpuClient ?? Number.NaN, 0)} / ${fmt(ideal.cpuClient64 ?? Number.NaN, 0)} |`
    )
  }
  const labels = [
    ...new Set(
      Object.keys(r.medians)
        .filter((k) => !k.startsWith('floor') && k !== 'ideal')
        .map((k) => k.split('/')[0]!)
    )
  ]
  for (const label of labels) {
    const remote = r.medians[`${label}/remote`]!
    const local = r.medians[`${label}/local`]!
    lines.push(
      `| ${label}: local \`echo\` on A over stdio | ${fmt(local.p50)} | ${Math.round(local.rate64)}/s | ${fmt(local.cpuA, 0)} / ${fmt(local.cpuA64 ?? Number.NaN, 0)} | | ${fmt(local.cpuClient ?? Number.NaN, 0)} / ${fmt(local.cpuClient64 ?? Number.NaN, 0)} |`
    )
    lines.push(
      `| ${label}: remote, stdio -> A -> /mcp+p2p -> B | ${fmt(remote.p50)} | ${Math.round(remote.rate64)}/s | ${fmt(remote.cpuA, 0)} / ${fmt(remote.cpuA64 ?? Number.NaN, 0)} | ${fmt(remote.cpuB, 0)} / ${fmt(remote.cpuB64 ?? Number.NaN, 0)} | ${fmt(remote.cpuClient ?? Number.NaN, 0)} / ${fmt(remote.cpuClient64 ?? Number.NaN, 0)} |`
    )
  }
  lines.push('')
  lines.push(`Targets against ${floorKey}.`)
  lines.push('')
  lines.push(
    `| variant | remote p50 / (local p50 + floor p50) | target | rate / min(floor, local) | target | ${CONCURRENCY}-in-flight rate the CPU per call allows on ${cpus} cores / the target's rate |`
  )
  lines.push('|---|---|---|---|---|---|')
  for (const label of labels) {
    const remote = r.medians[`${label}/remote`]!
    const local = r.medians[`${label}/local`]!
    const latency = remote.p50 / (local.p50 + floor.p50)
    const rate = remote.rate64 / Math.min(floor.rate64, local.rate64)
    const verdict = (ok: boolean): string => (ok ? 'met' : '**MISSED**')
    // Client, A and B share the machine's cores: at best they keep every core busy, so the CPU they spend per call
    // bounds the rate (a bound, not a forecast: it assumes no idle core and no other load).
    const perCall = (remote.cpuClient64 ?? Number.NaN) + (remote.cpuA64 ?? Number.NaN) + (remote.cpuB64 ?? Number.NaN)
    const bound = (cpus * 1e6) / perCall
    const wanted = 0.6 * Math.min(floor.rate64, local.rate64)
    lines.push(
      `| ${label} | ${fmt(latency, 2)}× | ≤ 1.25× ${verdict(latency <= 1.25)} | ${fmt(rate, 2)}× | ≥ 0.6× ${verdict(rate >= 0.6)} | ${Math.round(bound)}/s (${fmt(perCall, 0)} µs per call) / ${Math.round(wanted)}/s |`
    )
  }
  if (ideal != null) {
    // The bound any design reaches on this machine: the ideal path against the foreground variant's local p50 (no
    // bridge on either), else the first variant's.
    const localKey = `${labels.find((l) => l.endsWith('-fg')) ?? labels[0]}/local`
    const local = r.medians[localKey]
    if (local != null) {
      const latency = ideal.p50 / (local.p50 + floor.p50)
      const rate = ideal.rate64 / Math.min(floor.rate64, local.rate64)
      lines.push(
        `| ideal (a bound, not the node; against ${localKey}) | ${fmt(latency, 2)}× | ≤ 1.25× | ${fmt(rate, 2)}× | ≥ 0.6× | |`
      )
    }
  }
  return `${lines.join('\n')}\n`
}

const isMain = process.argv[1]?.endsWith('mesh/speed.js') === true
if (isMain && process.env.BENCH_SPEED_RENDER != null) {
  // Re-renders a saved JSON result (stdout of an earlier run).
  process.stdout.write(renderSpeed(JSON.parse(readFileSync(process.env.BENCH_SPEED_RENDER, 'utf8')) as SpeedResults))
  process.exit(0)
}
if (isMain) {
  try {
    const results = await runSpeed()
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
    const md = renderSpeed(results)
    process.stderr.write(md)
    if (process.env.BENCH_NO_WRITE == null) writeFileSync(join(ROOT, 'bench', 'RESULTS-speed.md'), md)
  } finally {
    await disposeAll()
  }
  process.exit(0)
}
