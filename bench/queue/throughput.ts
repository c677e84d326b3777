/**
 * Task-queue benchmarks (issue 4), in one run:
 *  - throughput: no-op tasks through the durable queue on A, executed by
 *    workers B and C, 64 in flight (submit with wait), against BullMQ on a
 *    local redis-server doing the same no-op jobs, 64 in flight
 *    (add + waitUntilFinished), same machine, same run;
 *  - per-task overhead versus a direct mesh tool call (1 in flight);
 *  - memory per queued task (in process, --expose-gc): see memory-child.ts.
 * Sized by BENCH_TASKS (default 6000).
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import type { Client } from '@modelcontextprotocol/client'
import { configure, tcpAddressOf } from '../configure.js'
import { ROOT } from '../foundation/paths.js'
import { connectStdio, makeHome, meshTarget } from '../foundation/processes.js'
import { envInt, summarize, timeConcurrent, timeSequential } from '../foundation/stats.js'

const TOOLS = join(ROOT, 'bench', 'fixtures', 'bench-tools.mjs')
/**
 * Tasks (and BullMQ jobs) run before the 64-in-flight figure: a node's CPU per task keeps falling over its first
 * ~10,000 (see rounds.ts), and 1,000 measured part of that. BENCH_QUEUE_WARMUP, as rounds.ts reads it.
 */
const QUEUE_WARMUP = envInt('BENCH_QUEUE_WARMUP', 10_000)

export interface QueueBenchResults {
  tasks: number
  meshQueueTasksPerSec: number
  bullmqJobsPerSec?: number
  bullmqError?: string
  ratioVsBullmq?: number
  directCallP50: number
  taskP50: number
  perTaskOverheadMs: number
  queuedTaskBytes: number
}

async function startMeshNode(patch: Record<string, unknown>, bootstrap?: string): Promise<Client> {
  const home = await makeHome()
  await configure(home, { catalog: { advertIntervalMs: 1000, peerTtlMs: 5000 }, ...patch })
  const target = meshTarget(home)
  if (bootstrap != null) target.args.push('--bootstrap', bootstrap)
  return connectStdio(target)
}

async function statusOf(client: Client): Promise<{ peerId: string; addresses: string[] }> {
  return (await client.callTool({ name: 'mesh_status', arguments: {} })).structuredContent as {
    peerId: string
    addresses: string[]
  }
}

async function waitForWorkers(owner: Client, tool: string, count: number): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    const result = await owner.callTool({ name: 'peer_list', arguments: { withTools: true } })
    const peers = (result.structuredContent as { peers: Array<{ tools: string[] }> }).peers
    if (peers.filter((p) => p.tools.includes(tool)).length >= count) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`fewer than ${count} workers for ${tool}`)
}

async function runTask(owner: Client, i: number): Promise<void> {
  const result = await owner.callTool({ name: 'task_submit', arguments: { tool: 'noop', args: { i }, wait: true } })
  const state = (result.structuredContent as { task: { state: string } }).task.state
  if (state !== 'succeeded') throw new Error(`task ${i} ended ${state}`)
}

async function bullmqThroughput(total: number): Promise<number> {
  const ensure = spawn('bash', [join(ROOT, 'scripts', 'ensure-redis.sh')], { stdio: 'inherit' })
  const ok = await new Promise<boolean>((resolve) => ensure.once('exit', (code) => resolve(code === 0)))
  if (!ok) throw new Error('redis-server is not available')
  const port = 6300 + Math.floor(Math.random() * 600)
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'inherit']
    }
  )
  try {
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
    // In ESM, BullMQ wants constructed clients; blocking connections need maxRetriesPerRequest: null.
    // BullMQ does not close connections it was given: they are ended here after it closes, or
    // ioredis reports every reconnect attempt once redis-server is gone.
    const connections: InstanceType<typeof Redis>[] = []
    const connect = (): InstanceType<typeof Redis> => {
      const connection = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null })
      connections.push(connection)
      return connection
    }
    const queue = new Queue('bench', { connection: connect() })
    // 64 waitUntilFinished in flight each add a listener to the queue (as in rounds.ts).
    queue.setMaxListeners(0)
    const events = new QueueEvents('bench', { connection: connect() })
    const worker = new Worker('bench', async () => ({ ok: true }), { connection: connect(), concurrency: 64 })
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()])
    try {
      await timeConcurrent(QUEUE_WARMUP, 64, async (i) => (await queue.add('noop', { i })).waitUntilFinished(events))
      const run = await timeConcurrent(total, 64, async (i) =>
        (await queue.add('noop', { i })).waitUntilFinished(events)
      )
      return run.callsPerSecond
    } finally {
      await worker.close()
      await events.close()
      await queue.close()
      for (const connection of connections) connection.disconnect()
    }
  } finally {
    redis.kill('SIGTERM')
  }
}

async function queuedTaskBytes(): Promise<number> {
  const child = spawn(process.execPath, ['--expose-gc', join(ROOT, 'dist', 'bench', 'queue', 'memory-child.js')], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`memory child exited ${code}`)
  return (JSON.parse(out) as { bytesPerTask: number }).bytesPerTask
}

export async function runQueueBench(): Promise<QueueBenchResults> {
  const total = envInt('BENCH_TASKS', 6000)
  const owner = await startMeshNode({})
  const bootstrap = tcpAddressOf(await statusOf(owner))
  await startMeshNode({ tools: [TOOLS] }, bootstrap)
  await startMeshNode({ tools: [TOOLS] }, bootstrap)
  await waitForWorkers(owner, 'noop', 2)

  // Per-task overhead: a task (submit + run on a worker + journal) vs calling the same tool directly.
  await timeSequential(300, async (i) => owner.callTool({ name: 'noop', arguments: { i } }))
  const direct = summarize(await timeSequential(1000, async (i) => owner.callTool({ name: 'noop', arguments: { i } })))
  await timeSequential(300, async (i) => runTask(owner, i))
  const task = summarize(await timeSequential(1000, async (i) => runTask(owner, i)))

  await timeConcurrent(QUEUE_WARMUP, 64, async (i) => runTask(owner, i))
  const mesh = await timeConcurrent(total, 64, async (i) => runTask(owner, i))

  const results: QueueBenchResults = {
    tasks: total,
    meshQueueTasksPerSec: Math.round(mesh.callsPerSecond),
    directCallP50: direct.p50,
    taskP50: task.p50,
    perTaskOverheadMs: task.p50 - direct.p50,
    queuedTaskBytes: await queuedTaskBytes()
  }
  try {
    results.bullmqJobsPerSec = Math.round(await bullmqThroughput(total))
    results.ratioVsBullmq = Math.round((results.meshQueueTasksPerSec / results.bullmqJobsPerSec) * 100) / 100
  } catch (err) {
    results.bullmqError = (err as Error).message
  }
  return results
}

export function renderQueueMarkdown(r: QueueBenchResults): string {
  const f = (v: number): string => Number(v.toFixed(3)).toString()
  return `## Task queue (issue 4)

No-op tasks; owner A submits with \`task_submit {wait: true}\` over MCP stdio, workers B and C run them (3 nodes, loopback); BullMQ ${'6.x'} on a local redis-server (no persistence), same no-op jobs, \`add\` + \`waitUntilFinished\`, worker concurrency 64. ${r.tasks} tasks each, 64 in flight, after warm-up.

| figure | value | goal |
|---|---|---|
| mcp-mesh durable queue, 64 in flight | ${r.meshQueueTasksPerSec} tasks/s | >= 5,000 and >= 1 x BullMQ |
| BullMQ + Redis, 64 in flight | ${r.bullmqJobsPerSec ?? `not measured: ${r.bullmqError}`} jobs/s | |
| ratio mcp-mesh / BullMQ | ${r.ratioVsBullmq ?? '-'} | >= 1 |
| direct mesh call of the tool, p50 (1 in flight) | ${f(r.directCallP50)} ms | |
| same call as a task (submit + journal + dispatch + result), p50 | ${f(r.taskP50)} ms | |
| per-task overhead vs direct call | ${f(r.perTaskOverheadMs)} ms | <= 0.5 ms |
| memory per queued task | ${Math.round(r.queuedTaskBytes)} bytes | <= 2,048 |
`
}
