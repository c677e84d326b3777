/**
 * Workflow benchmarks (issue 5), in one run:
 *  - in process: the scheduler alone (WorkflowEngine + its LevelDB journal)
 *    on a queue that completes every task at once, so all time is scheduler
 *    time: a 1,000-step chain, a 1,000-step fan-out and a 1,000-item forEach;
 *  - over five real nodes (owner A, workers B-E with a no-op tool, loopback):
 *    a 1,000-step chain (each step references the previous output) and a
 *    1,000-step fan-out; the scheduler's overhead per step is the time from a
 *    dependency's task finishing to the dependent's task being created
 *    (queue timestamps); a 100-step chain against 100 sequential mesh calls of
 *    the same tool from the client.
 * Sized by BENCH_WF_STEPS (default 1000), BENCH_WF_CHAIN (default 100) and
 * BENCH_WF_PARALLEL (default 64). Prints JSON on stdout and writes
 * bench/RESULTS-workflow.md.
 * Run: npm run build && node dist/bench/workflow.js
 */
import { writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Client } from '@modelcontextprotocol/client'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { LevelDatastore } from 'datastore-level'
import { TypedEventEmitter } from 'main-event'
import type { Task, TaskQueueApi, TaskQueueEvents, TaskSubmission } from '../src/queue/types.js'
import { WorkflowEngine } from '../src/workflow/index.js'
import { configure, tcpAddressOf } from './configure.js'
import { ROOT } from './foundation/paths.js'
import { connectStdio, disposeAll, makeHome, meshTarget } from './foundation/processes.js'
import { envInt, fmt, summarize, timeSequential } from './foundation/stats.js'

const TOOLS = join(ROOT, 'bench', 'fixtures', 'bench-tools.mjs')
const STEPS = envInt('BENCH_WF_STEPS', 1000)
const CHAIN = envInt('BENCH_WF_CHAIN', 100)
const PARALLEL = envInt('BENCH_WF_PARALLEL', 64)

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`)
}

type Document = Record<string, unknown>

/** A chain: step k echoes the message of step k-1 (a reference per step). */
function chainDocument(n: number, tool = 'remote_echo'): Document {
  return {
    name: `chain-${n}`,
    maxParallel: 1,
    steps: Array.from({ length: n }, (_, k) => ({
      id: `s${k}`,
      tool,
      args: { message: k === 0 ? 'start' : { $ref: `steps.s${k - 1}.output.message` } }
    }))
  }
}

/** A fan-out: one root, n-2 independent steps after it, one sink after all of them. */
function fanOutDocument(n: number, maxParallel: number, tool = 'noop'): Document {
  const middle = Array.from({ length: n - 2 }, (_, k) => ({ id: `m${k}`, tool, args: { i: k }, dependsOn: ['root'] }))
  return {
    name: `fan-out-${n}`,
    maxParallel,
    steps: [
      { id: 'root', tool, args: { i: -1 } },
      ...middle,
      { id: 'sink', tool, args: { i: n }, dependsOn: middle.map((step) => step.id) }
    ]
  }
}

function forEachDocument(n: number, maxParallel: number, tool = 'noop'): Document {
  return {
    name: `for-each-${n}`,
    maxParallel,
    steps: [{ id: 'each', tool, forEach: Array.from({ length: n }, (_, i) => i), args: { i: { $ref: 'item' } } }]
  }
}

// ------------------------------------------------------------------ in process

/** A queue whose tasks succeed on the next tick: what remains is the scheduler's own cost. */
class InstantQueue extends TypedEventEmitter<TaskQueueEvents> implements TaskQueueApi {
  readonly #tasks = new Map<string, Task>()
  #seq = 0

  async submit(submission: TaskSubmission): Promise<{ task: Task; created: boolean }> {
    const now = Date.now()
    const task: Task = {
      id: `t${++this.#seq}`,
      tool: submission.tool,
      args: submission.args ?? {},
      state: 'queued',
      priority: 5,
      seq: this.#seq,
      tags: [],
      argsHash: '',
      retry: { policy: 'none', maxAttempts: 1, baseDelayMs: 0, retryOnToolError: false, jitter: false },
      timeoutMs: 30_000,
      runAt: now,
      createdAt: now,
      updatedAt: now,
      attempts: 1,
      history: [],
      failIfNoWorker: false,
      labels: submission.labels ?? {}
    }
    this.#tasks.set(task.id, task)
    setImmediate(() => {
      task.state = 'succeeded'
      task.worker = 'local'
      task.finishedAt = Date.now()
      task.result = { content: [], structuredContent: { ...task.args, ok: true } }
      this.safeDispatchEvent('task', { detail: task })
    })
    return { task: { ...task }, created: true }
  }

  get(id: string): Task | undefined {
    return this.#tasks.get(id)
  }

  list(): { tasks: Task[]; total: number } {
    return { tasks: [], total: this.#tasks.size }
  }

  async cancel(id: string): Promise<Task> {
    return this.#tasks.get(id)!
  }

  async waitFor(id: string): Promise<Task> {
    return this.#tasks.get(id)!
  }
}

interface InProcessFigure {
  label: string
  steps: number
  wallMs: number
  perStepMs: number
  /** The same number of tasks through the same queue without the engine (sequential for a chain, same parallelism otherwise). */
  baselinePerStepMs: number
  overheadPerStepMs: number
}

async function baseline(queue: InstantQueue, n: number, parallel: number): Promise<number> {
  const started = performance.now()
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < n) {
      const i = next++
      await new Promise<void>((resolve) => {
        const listener = (event: CustomEvent<Task>): void => {
          if (event.detail.labels.i !== String(i)) return
          queue.removeEventListener('task', listener)
          resolve()
        }
        queue.addEventListener('task', listener)
        void queue.submit({ tool: 'noop', args: { i }, labels: { i: String(i) } })
      })
    }
  }
  await Promise.all(Array.from({ length: parallel }, lane))
  return performance.now() - started
}

async function inProcess(): Promise<InProcessFigure[]> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-mesh-bench-wf-'))
  const datastore = new LevelDatastore(join(dir, 'datastore'))
  await datastore.open()
  const queue = new InstantQueue()
  const engine = new WorkflowEngine({ queue, datastore, owner: 'bench', describeTool: () => ({}) })
  await engine.start()
  const figures: InProcessFigure[] = []
  const run = async (label: string, document: Document, parallel: number): Promise<void> => {
    // Warm-up run of the same shape, then the measured one.
    await engine.wait((await engine.submit(document)).workflowId)
    const started = performance.now()
    const { workflowId } = await engine.submit(document)
    const done = await engine.wait(workflowId)
    const wallMs = performance.now() - started
    if (done.state !== 'succeeded') throw new Error(`${label}: ${done.state} ${done.error}`)
    const steps = label.startsWith('forEach') ? STEPS : (document.steps as unknown[]).length
    const baseMs = await baseline(queue, steps, parallel)
    figures.push({
      label,
      steps,
      wallMs,
      perStepMs: wallMs / steps,
      baselinePerStepMs: baseMs / steps,
      overheadPerStepMs: (wallMs - baseMs) / steps
    })
    log(`in process ${label}: ${fmt(wallMs / steps)} ms/step`)
  }
  await run(`chain of ${STEPS}`, chainDocument(STEPS), 1)
  await run(`fan-out of ${STEPS}, maxParallel ${PARALLEL}`, fanOutDocument(STEPS, PARALLEL), PARALLEL)
  await run(`forEach of ${STEPS} items, maxParallel ${PARALLEL}`, forEachDocument(STEPS, PARALLEL), PARALLEL)
  await engine.stop()
  await datastore.close()
  await rm(dir, { recursive: true, force: true })
  return figures
}

// ------------------------------------------------------------------ five nodes

interface TaskRow {
  createdAt: number
  startedAt?: number
  finishedAt?: number
  worker?: string
  labels?: Record<string, string>
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = (await client.callTool({ name, arguments: args }, { timeout: 600_000 })) as CallToolResult
  if (result.isError === true) throw new Error(`${name}: ${JSON.stringify(result.content)}`)
  return result.structuredContent as Record<string, unknown>
}

async function tasksOf(owner: Client, workflowId: string): Promise<TaskRow[]> {
  const rows: TaskRow[] = []
  let cursor: string | undefined
  do {
    const page = await call(owner, 'task_list', {
      labels: { workflowId },
      limit: 500,
      ...(cursor != null ? { cursor } : {})
    })
    rows.push(...(page.tasks as TaskRow[]))
    cursor = page.nextCursor as string | undefined
  } while (cursor != null)
  return rows
}

async function runWorkflow(owner: Client, document: Document): Promise<{ workflowId: string; wallMs: number }> {
  const started = performance.now()
  const done = await call(owner, 'workflow_submit', { document, wait: true })
  const wallMs = performance.now() - started
  if (done.state !== 'succeeded')
    throw new Error(`workflow ${String(document.name)} ended ${String(done.state)}: ${String(done.error)}`)
  return { workflowId: done.workflowId as string, wallMs }
}

interface MeshFigures {
  nodes: number
  chain: {
    steps: number
    wallMs: number
    perStepMs: number
    taskOwnMsMean: number
    schedulerGapMs: { p50: number; mean: number; p99: number }
    workers: number
  }
  fanOut: {
    steps: number
    maxParallel: number
    wallMs: number
    stepsPerSec: number
    launchMsPerStep: number
    workers: number
  }
  chainVsCalls: { steps: number; chainMs: number; callsMs: number; singleCallP50: number; ratio: number }
}

async function fiveNodes(): Promise<MeshFigures> {
  const ownerHome = await makeHome()
  await configure(ownerHome, { catalog: { advertIntervalMs: 1000, peerTtlMs: 5000 } })
  const owner = await connectStdio(meshTarget(ownerHome))
  const ownerAddress = tcpAddressOf((await call(owner, 'mesh_status', {})) as { addresses: string[] })
  const workers: Client[] = []
  for (let i = 0; i < 4; i++) {
    const home = await makeHome()
    await configure(home, { tools: [TOOLS], catalog: { advertIntervalMs: 1000, peerTtlMs: 5000 } })
    const target = meshTarget(home)
    target.args.push('--bootstrap', ownerAddress)
    workers.push(await connectStdio(target))
  }
  const deadline = Date.now() + 30_000
  for (;;) {
    const peers = (await call(owner, 'peer_list', { withTools: true })).peers as Array<{ tools: string[] }>
    if (peers.filter((p) => p.tools.includes('noop') && p.tools.includes('remote_echo')).length >= 4) break
    if (Date.now() > deadline) throw new Error('the four workers did not all reach the owner’s catalog')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  log('five nodes up; warming up')
  await runWorkflow(owner, chainDocument(50))
  await runWorkflow(owner, fanOutDocument(200, PARALLEL))
  for (let i = 0; i < 200; i++) await call(owner, 'remote_echo', { message: 'warm' })

  log(`chain of ${STEPS}`)
  const chain = await runWorkflow(owner, chainDocument(STEPS))
  const chainTasks = (await tasksOf(owner, chain.workflowId)).sort(
    (a, b) => Number(a.labels?.stepId?.slice(1)) - Number(b.labels?.stepId?.slice(1))
  )
  const gaps: number[] = []
  for (let k = 1; k < chainTasks.length; k++) gaps.push(chainTasks[k]!.createdAt - chainTasks[k - 1]!.finishedAt!)
  const own = chainTasks.map((t) => t.finishedAt! - t.createdAt)
  const gapSummary = summarize(gaps)

  log(`fan-out of ${STEPS}`)
  const fan = await runWorkflow(owner, fanOutDocument(STEPS, PARALLEL))
  const fanTasks = await tasksOf(owner, fan.workflowId)
  // With maxParallel reached, a step launches when a slot frees; the launch cost is measured on the
  // first wave: the middle steps all become ready when the root finishes, and up to maxParallel start at once.
  const root = fanTasks.find((t) => t.labels?.stepId === 'root')!
  const firstWave = fanTasks
    .filter((t) => t.labels?.stepId?.startsWith('m') === true)
    .map((t) => t.createdAt)
    .sort((a, b) => a - b)
    .slice(0, PARALLEL)
  const launchMsPerStep = (firstWave.at(-1)! - root.finishedAt!) / firstWave.length

  log(`chain of ${CHAIN} vs ${CHAIN} mesh calls`)
  const callSamples = await timeSequential(CHAIN, async () => call(owner, 'remote_echo', { message: 'x' }))
  const callsMs = callSamples.reduce((a, b) => a + b, 0)
  const chains: number[] = []
  for (let r = 0; r < 3; r++) chains.push((await runWorkflow(owner, chainDocument(CHAIN))).wallMs)
  const chainMs = summarize(chains).p50

  return {
    nodes: 5,
    chain: {
      steps: STEPS,
      wallMs: chain.wallMs,
      perStepMs: chain.wallMs / STEPS,
      taskOwnMsMean: own.reduce((a, b) => a + b, 0) / own.length,
      schedulerGapMs: { p50: gapSummary.p50, mean: gapSummary.mean, p99: gapSummary.p99 },
      workers: new Set(chainTasks.map((t) => t.worker)).size
    },
    fanOut: {
      steps: STEPS,
      maxParallel: PARALLEL,
      wallMs: fan.wallMs,
      stepsPerSec: (STEPS / fan.wallMs) * 1000,
      launchMsPerStep,
      workers: new Set(fanTasks.map((t) => t.worker)).size
    },
    chainVsCalls: {
      steps: CHAIN,
      chainMs,
      callsMs,
      singleCallP50: summarize(callSamples).p50,
      ratio: chainMs / callsMs
    }
  }
}

function markdown(inProc: InProcessFigure[], mesh: MeshFigures): string {
  const lines = [
    '## Workflows (issue 5)',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on this machine (Node ${process.versions.node}, loopback). Reproduce: \`npm run build && node dist/bench/workflow.js\` (BENCH_WF_STEPS, BENCH_WF_CHAIN, BENCH_WF_PARALLEL).`,
    '',
    '### The scheduler alone (in process)',
    '',
    'WorkflowEngine with its LevelDB journal on a queue that completes every task on the next tick, so the time is the scheduler’s: readiness, reference resolution, task submission, journal writes and events. Baseline: the same number of tasks through the same queue without the engine.',
    '',
    '| workflow | wall | per step | baseline per task | scheduler overhead per step | goal |',
    '|---|---|---|---|---|---|'
  ]
  for (const f of inProc) {
    lines.push(
      `| ${f.label} | ${fmt(f.wallMs, 1)} ms | ${fmt(f.perStepMs)} ms | ${fmt(f.baselinePerStepMs)} ms | ${fmt(f.overheadPerStepMs)} ms | <= 1 ms |`
    )
  }
  lines.push(
    '',
    `### Five nodes (owner A, workers B-E with the no-op tools), ${mesh.chain.steps}-step workflows`,
    '',
    '| figure | value | goal |',
    '|---|---|---|',
    `| chain of ${mesh.chain.steps} (each step references the previous output), wall | ${fmt(mesh.chain.wallMs, 0)} ms (${fmt(mesh.chain.perStepMs)} ms/step, ${mesh.chain.workers} workers) | |`,
    `| task's own time in the chain (queue create -> finish, incl. journal, dispatch, remote call), mean | ${fmt(mesh.chain.taskOwnMsMean)} ms | |`,
    `| scheduler overhead per step: dependency finished -> next task created, p50 / mean / p99 | ${fmt(mesh.chain.schedulerGapMs.p50)} / ${fmt(mesh.chain.schedulerGapMs.mean)} / ${fmt(mesh.chain.schedulerGapMs.p99)} ms | <= 1 ms |`,
    `| fan-out of ${mesh.fanOut.steps} (root, ${mesh.fanOut.steps - 2} parallel, sink), maxParallel ${mesh.fanOut.maxParallel}, wall | ${fmt(mesh.fanOut.wallMs, 0)} ms (${fmt(mesh.fanOut.stepsPerSec, 0)} steps/s, ${mesh.fanOut.workers} workers) | |`,
    `| fan-out launch cost per step (root finished -> first ${mesh.fanOut.maxParallel} tasks created) | ${fmt(mesh.fanOut.launchMsPerStep)} ms | <= 1 ms |`,
    `| chain of ${mesh.chainVsCalls.steps} steps (p50 of 3) | ${fmt(mesh.chainVsCalls.chainMs, 1)} ms | |`,
    `| ${mesh.chainVsCalls.steps} sequential mesh calls of the same tool from the client (single call p50 ${fmt(mesh.chainVsCalls.singleCallP50)} ms) | ${fmt(mesh.chainVsCalls.callsMs, 1)} ms | |`,
    `| ratio chain / calls | ${fmt(mesh.chainVsCalls.ratio, 2)} | <= 2 |`,
    ''
  )
  return `${lines.join('\n')}\n`
}

try {
  log('in-process scheduler')
  const inProc = await inProcess()
  log('five nodes')
  const mesh = await fiveNodes()
  const results = { date: new Date().toISOString(), node: process.versions.node, inProcess: inProc, mesh }
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(join(ROOT, 'bench', 'RESULTS-workflow.md'), markdown(inProc, mesh))
} finally {
  await disposeAll()
}
process.exit(0)
