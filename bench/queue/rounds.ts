/**
 * `node dist/bench/queue/rounds.js`: the durable queue against BullMQ in
 * interleaved rounds, so both share the machine's load.
 *
 * Per build under test (BENCH_QUEUE_VARIANTS=label=/checkout,...; default
 * this checkout): owner A (no tools) and worker B (the no-op tool, with
 * `queue.worker.maxConcurrency` 86, i.e. 64 slots for peers' tasks: the same
 * concurrency as BullMQ's worker). BullMQ: one redis-server without
 * persistence, a Worker with concurrency 64, the same no-op jobs. Each round
 * runs BENCH_QUEUE_TASKS (3000) tasks per build and as many BullMQ jobs, 64 in
 * flight (`task_submit {wait: true}` over MCP stdio; `add` +
 * `waitUntilFinished`), in rotating order. Reported: medians over
 * BENCH_QUEUE_ROUNDS (5) rounds, and the median of each round's ratio. Before
 * the rounds, BENCH_QUEUE_WARMUP (10,000) tasks per build and as many jobs.
 * BENCH_QUEUE_STATS=1 prints each owner's `queue_stats` at the end (journal
 * writes and batches). BENCH_QUEUE_WORKER_SLOTS: the worker's
 * `queue.worker.maxConcurrency` (86). BENCH_CHILD_NODE_OPTIONS_<label>: one
 * variant's NODE_OPTIONS (the same checkout can run twice, with and without).
 * BENCH_QUEUE_WARMUP: the warm-up tasks (10,000).
 *
 * Run it on the pinned node (`node_modules/node/bin/node dist/bench/queue/rounds.js`):
 * nodes are started with this process's node, and under an older one
 * `bin/mcp-mesh.js` re-executes itself, so the pid whose CPU is read would be
 * the launcher's. Nodes run with `start --foreground` (BENCH_QUEUE_DETACHED=1:
 * as clients start them, through a bridge to a detached node; the CPU figures
 * are then the bridge's).
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import type { Client } from '@modelcontextprotocol/client'
import { peerSlots } from '../../src/queue/constants.js'
import { tcpAddressOf } from '../configure.js'
import { NODE, ROOT } from '../foundation/paths.js'
import {
  connectStdioWithPid,
  cpuTimeMs,
  disposeAll,
  disposeProcess,
  LOOPBACK,
  lockHolder
} from '../foundation/processes.js'
import { envInt, fmt, timeConcurrent } from '../foundation/stats.js'
import { checkoutVariants } from '../foundation/variants.js'
import { initHome, median } from '../mesh/speed.js'

const TOOLS = join(ROOT, 'bench', 'fixtures', 'bench-tools.mjs')
const CONCURRENCY = 64
/** BENCH_QUEUE_DETACHED=1: `start` as clients run it (a bridge to a detached node; CPU figures are then the bridge's). */
const FOREGROUND = process.env.BENCH_QUEUE_DETACHED === '1' ? [] : ['--foreground']
/**
 * 86 slots, a quarter (21) kept for the node's own tasks: 65 for peers, so 64
 * tasks in flight never wait for a slot (as BullMQ's worker, concurrency 64).
 * BENCH_QUEUE_WORKER_SLOTS sets another `queue.worker.maxConcurrency`: e.g. the
 * default 32 (24 for peers), where tasks queue behind the worker's slots.
 */
const WORKER_SLOTS = envInt('BENCH_QUEUE_WORKER_SLOTS', 86)

interface Variant {
  label: string
  root: string
  owner?: Client
  /** pids of the owner and the worker (their CPU per task). */
  pids?: [number, number]
}

interface Bullmq {
  run: (total: number) => Promise<number>
  stop: () => Promise<void>
}

async function startBullmq(): Promise<Bullmq> {
  const ensure = spawn('bash', [join(ROOT, 'scripts', 'ensure-redis.sh')], { stdio: 'inherit' })
  if (!(await new Promise<boolean>((resolve) => ensure.once('exit', (code) => resolve(code === 0))))) {
    throw new Error('redis-server is not available')
  }
  const port = 6300 + Math.floor(Math.random() * 600)
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  )
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start')), 10_000)
    redis.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  const { Queue, QueueEvents, Worker } = await import('bullmq')
  const { Redis } = await import('ioredis')
  // BullMQ does not close connections it was given: they are ended here after it closes, or
  // ioredis reports every reconnect attempt once redis-server is gone.
  const connections: InstanceType<typeof Redis>[] = []
  const connect = (): InstanceType<typeof Redis> => {
    const connection = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null })
    connections.push(connection)
    return connection
  }
  const queue = new Queue('bench', { connection: connect() })
  queue.setMaxListeners(0)
  const events = new QueueEvents('bench', { connection: connect() })
  const worker = new Worker('bench', async () => ({ ok: true }), { connection: connect(), concurrency: CONCURRENCY })
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()])
  return {
    run: async (total) =>
      (
        await timeConcurrent(total, CONCURRENCY, async (i) =>
          (await queue.add('noop', { i })).waitUntilFinished(events)
        )
      ).callsPerSecond,
    stop: async () => {
      await worker.close()
      await events.close()
      await queue.close()
      for (const connection of connections) connection.disconnect()
      redis.kill('SIGTERM')
    }
  }
}

/**
 * Starts a node of `root` in the foreground (`start --foreground`: the node
 * runs in the process the client talks to, so its pid's CPU time is the
 * node's, and no bridge to a detached node sits in the path). BENCH_CHILD_NODE_ARGS (space-separated) go on the
 * node command line: flags such as `--cpu-prof --cpu-prof-dir=/tmp/p` that
 * NODE_OPTIONS refuses (BENCH_CHILD_NODE_OPTIONS is passed as NODE_OPTIONS);
 * BENCH_CHILD_NODE_ARGS_<label> replaces them for one variant (the same
 * build with and without a flag: `a=/work/main,b=/work/main`).
 */
async function startNode(
  variant: Variant,
  patch: Record<string, unknown>,
  args: string[] = []
): Promise<{ client: Client; pid: number }> {
  const root = variant.root
  const home = await initHome(root, { catalog: { advertIntervalMs: 1000, peerTtlMs: 5000 }, ...patch })
  const nodeArgs = (process.env[`BENCH_CHILD_NODE_ARGS_${variant.label}`] ?? process.env.BENCH_CHILD_NODE_ARGS ?? '')
    .split(' ')
    .filter((arg) => arg !== '')
  // NODE_OPTIONS survive the launcher's re-exec (V8 flags in nodeArgs do not): BENCH_CHILD_NODE_OPTIONS_<label>
  // gives one variant its own (e.g. a V8 heap flag measured against the same build without it).
  const nodeOptions = process.env[`BENCH_CHILD_NODE_OPTIONS_${variant.label}`] ?? process.env.BENCH_CHILD_NODE_OPTIONS
  const started = await connectStdioWithPid({
    label: `mcp-mesh start (${root})`,
    command: NODE,
    args: [...nodeArgs, join(root, 'bin', 'mcp-mesh.js'), 'start', ...FOREGROUND, '--home', home, ...LOOPBACK, ...args],
    env: nodeOptions != null ? { NODE_OPTIONS: nodeOptions } : {}
  })
  if (FOREGROUND.length === 0) {
    // Bridged: the node is the detached lock holder, stopped with the bench (not after its idle timeout).
    await started.client.listTools()
    const holder = await lockHolder(home)
    if (holder != null && holder !== started.pid) disposeProcess(holder)
  }
  return started
}

async function runTask(owner: Client, i: number): Promise<void> {
  const result = await owner.callTool({ name: 'task_submit', arguments: { tool: 'noop', args: { i }, wait: true } })
  const state = (result.structuredContent as { task: { state: string } }).task.state
  if (state !== 'succeeded') throw new Error(`task ${i} ended ${state}`)
}

async function startQueue(variant: Variant): Promise<void> {
  const { client: owner, pid: ownerPid } = await startNode(variant, {})
  const status = (await owner.callTool({ name: 'mesh_status', arguments: {} })).structuredContent as {
    addresses: string[]
  }
  const { pid: workerPid } = await startNode(
    variant,
    { tools: [TOOLS], queue: { worker: { maxConcurrency: WORKER_SLOTS } } },
    ['--bootstrap', tcpAddressOf(status)]
  )
  const until = Date.now() + 60_000
  for (;;) {
    const result = await owner.callTool({ name: 'peer_list', arguments: { withTools: true } })
    const peers = (result.structuredContent as { peers: Array<{ tools: string[] }> }).peers
    if (peers.some((p) => p.tools.includes('noop'))) break
    if (Date.now() > until) throw new Error(`${variant.label}: no worker for noop`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  variant.owner = owner
  variant.pids = [ownerPid, workerPid]
}

function variants(): Variant[] {
  return checkoutVariants('BENCH_QUEUE_VARIANTS') ?? [{ label: 'head', root: ROOT }]
}

export interface QueueRoundsResults {
  date: string
  loadAverage: { start: number; end: number }
  rounds: number
  tasks: number
  /** The worker's `queue.worker.maxConcurrency` (absent in runs before it was set by BENCH_QUEUE_WORKER_SLOTS: 86). */
  workerSlots?: number
  /** Per round: tasks/s per variant label, and "bullmq". */
  series: Array<Record<string, number>>
}

export async function runQueueRounds(): Promise<QueueRoundsResults> {
  const rounds = envInt('BENCH_QUEUE_ROUNDS', 5)
  const tasks = envInt('BENCH_QUEUE_TASKS', 3000)
  const warmup = envInt('BENCH_QUEUE_WARMUP', 10_000)
  const loadStart = loadavg()[0] ?? 0
  const list = variants()
  for (const variant of list) await startQueue(variant)
  const bullmq = await startBullmq()
  try {
    // Steady state before the first round: a node's CPU per task keeps falling for its first ~10,000 tasks (V8's
    // tiering of the owner's, the worker's and the client's code, and batching growing with the rate: 277-353 µs per
    // task in the first 3,000, ~110 once warm), so a short warm-up measured that. BullMQ is warmed the same.
    for (const variant of list) await timeConcurrent(warmup, CONCURRENCY, async (i) => runTask(variant.owner!, i))
    await bullmq.run(warmup)
    const series: QueueRoundsResults['series'] = []
    for (let round = 0; round < rounds; round++) {
      process.stderr.write(`queue: round ${round + 1}/${rounds} (load ${fmt(loadavg()[0] ?? 0, 2)})\n`)
      const rates: Record<string, number> = {}
      const steps: Array<() => Promise<void>> = [
        ...list.map((variant) => async () => {
          const [ownerPid, workerPid] = variant.pids!
          const cpu0 = [cpuTimeMs(ownerPid), cpuTimeMs(workerPid)]
          rates[variant.label] = (
            await timeConcurrent(tasks, CONCURRENCY, async (i) => runTask(variant.owner!, i))
          ).callsPerSecond
          rates[`${variant.label}:cpuOwnerUs`] = ((cpuTimeMs(ownerPid) - cpu0[0]!) * 1000) / tasks
          rates[`${variant.label}:cpuWorkerUs`] = ((cpuTimeMs(workerPid) - cpu0[1]!) * 1000) / tasks
        }),
        async () => {
          rates.bullmq = await bullmq.run(tasks)
        }
      ]
      for (let i = 0; i < steps.length; i++) await steps[(i + round) % steps.length]!()
      series.push(rates)
    }
    // BENCH_QUEUE_STATS=1: each owner's queue_stats on stderr (journal writes per batch, latencies).
    if (process.env.BENCH_QUEUE_STATS === '1') {
      for (const variant of list) {
        const stats = (await variant.owner!.callTool({ name: 'queue_stats', arguments: {} })).structuredContent
        process.stderr.write(`queue_stats ${variant.label}: ${JSON.stringify(stats)}\n`)
      }
    }
    return {
      date: new Date().toISOString(),
      loadAverage: { start: loadStart, end: loadavg()[0] ?? 0 },
      rounds,
      tasks,
      workerSlots: WORKER_SLOTS,
      series
    }
  } finally {
    await bullmq.stop()
  }
}

export function renderQueueRounds(r: QueueRoundsResults): string {
  const labels = Object.keys(r.series[0] ?? {}).filter((k) => k !== 'bullmq' && !k.includes(':'))
  const bull = median(r.series.map((s) => s.bullmq!))
  const slots = r.workerSlots ?? 86
  const lines = [
    `## Durable queue vs BullMQ (interleaved rounds)

Measured ${r.date}; ${r.rounds} rounds of ${r.tasks} no-op tasks per build and as many BullMQ jobs, 64 in flight; owner A
and one worker B (\`maxConcurrency\` ${slots}: ${peerSlots(slots)} slots for peers' tasks), BullMQ worker concurrency 64 on a local redis-server without persistence;
load average ${fmt(r.loadAverage.start, 2)} at the start, ${fmt(r.loadAverage.end, 2)} at the end.

| build | tasks/s (median) | BullMQ jobs/s (median) | ratio of medians | median of per-round ratios | target | verdict | CPU µs/task owner / worker |
|---|---|---|---|---|---|---|---|`
  ]
  for (const label of labels) {
    const rate = median(r.series.map((s) => s[label]!))
    const perRound = median(r.series.map((s) => s[label]! / s.bullmq!))
    lines.push(
      `| ${label} | ${Math.round(rate)} | ${Math.round(bull)} | ${fmt(rate / bull, 2)}× | ${fmt(perRound, 2)}× | ≥ 1.5× | ${perRound >= 1.5 ? 'met' : '**MISSED**'} | ${fmt(median(r.series.map((s) => s[`${label}:cpuOwnerUs`]!)), 0)} / ${fmt(median(r.series.map((s) => s[`${label}:cpuWorkerUs`]!)), 0)} |`
    )
  }
  return `${lines.join('\n')}\n`
}

if (process.argv[1]?.endsWith('queue/rounds.js') === true) {
  try {
    const results = await runQueueRounds()
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
    const md = renderQueueRounds(results)
    process.stderr.write(md)
    if (process.env.BENCH_NO_WRITE == null) writeFileSync(join(ROOT, 'bench', 'RESULTS-queue-rounds.md'), md)
  } finally {
    await disposeAll()
  }
  process.exit(0)
}
