/**
 * `node dist/bench/gc/promotion.js`: what young-generation collections of
 * running nodes move to the old generation under load, the figure issue 12's
 * eleventh pass went by (bench/RESULTS.md). A churning long-lived structure,
 * or an async context holding a finished call, shows as promotion that does
 * not come from live data: each scavenge copies it, and full collections
 * follow. Per scenario, 64 calls in flight from the SDK client over stdio:
 *  - remote: A calls B's `remote_echo` over /mcp+p2p;
 *  - queue: `task_submit {wait: true}` on owner A, worker B (A keeps the
 *    finished tasks by design: about 1.5 KB each);
 *  - shared: A calls `echo` of a stdio server it shares (bench/fixtures/echo-server.mjs).
 * After a warm-up, SIGUSR2 turns `--trace-gc-nvp` on in each node for the
 * window (./nvp-toggle.ts); the detached nodes' logs are read afterwards.
 * Reported per node: scavenges, mean promoted and surviving bytes per
 * scavenge, mean pause, full collections, calls in the window.
 *
 * BENCH_GC_VARIANTS=label=/root,... (default: this checkout), BENCH_GC_SCENARIOS
 * (remote,queue,shared), BENCH_GC_WARMUP_MS (8000: a queue owner's first seconds, its store of finished tasks filling, promote more), BENCH_GC_WINDOW_MS (4000).
 * Bounded: one window per scenario and variant; loopback only.
 */
import { readFile, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Client } from '@modelcontextprotocol/client'
import { tcpAddressOf } from '../configure.js'
import { NODE, ROOT } from '../foundation/paths.js'
import { disposeAll } from '../foundation/processes.js'
import { envInt } from '../foundation/stats.js'
import { checkoutVariants } from '../foundation/variants.js'
import { startNode } from '../mesh/speed.js'

const TOOLS = join(ROOT, 'bench', 'fixtures', 'bench-tools.mjs')
const ECHO_SERVER = join(ROOT, 'bench', 'fixtures', 'echo-server.mjs')
const IN_FLIGHT = 64
const WARMUP_MS = envInt('BENCH_GC_WARMUP_MS', 8_000)
const WINDOW_MS = envInt('BENCH_GC_WINDOW_MS', 4_000)

interface Collections {
  scavenges: number
  promoted: number
  survived: number
  pauseMs: number
  full: number
}

interface Setup {
  /** The client's node and the node names with their pids (each a detached node: its log is its stdout). */
  client: Client
  nodes: Array<{ name: string; pid: number }>
  call: (i: number) => Promise<unknown>
}

async function setUp(scenario: string, root: string, options: string): Promise<Setup> {
  if (scenario === 'shared') {
    const a = await startNode(root, { servers: { bench: { command: NODE, args: [ECHO_SERVER] } } }, [], options)
    let name: string | undefined
    for (let i = 0; i < 600 && name == null; i++) {
      name = (await a.client.listTools()).tools.map((tool) => tool.name).find((n) => n.endsWith('echo') && n !== 'echo')
      if (name == null) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    if (name == null) throw new Error('the shared echo never appeared')
    const tool = name
    return {
      client: a.client,
      nodes: [{ name: 'A', pid: a.pid }],
      call: (i) => a.client.callTool({ name: tool, arguments: { message: `m${i}` } })
    }
  }
  const workerPatch =
    scenario === 'queue' ? { tools: [TOOLS], queue: { worker: { maxConcurrency: 86 } } } : { tools: [TOOLS] }
  const b = await startNode(root, workerPatch, [], options)
  const status = (await b.client.callTool({ name: 'mesh_status', arguments: {} })).structuredContent as {
    addresses: string[]
  }
  const a = await startNode(root, {}, ['--bootstrap', tcpAddressOf(status)], options)
  const needed = scenario === 'queue' ? 'noop' : 'remote_echo'
  for (let i = 0; ; i++) {
    if (i > 1200) throw new Error(`${needed} never appeared on A`)
    const ready =
      scenario === 'queue'
        ? (
            (await a.client.callTool({ name: 'peer_list', arguments: { withTools: true } })).structuredContent as {
              peers: Array<{ tools: string[] }>
            }
          ).peers.some((peer) => peer.tools.includes(needed))
        : (await a.client.listTools()).tools.some((tool) => tool.name === needed)
    if (ready) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const call =
    scenario === 'queue'
      ? (i: number) => a.client.callTool({ name: 'task_submit', arguments: { tool: 'noop', args: { i }, wait: true } })
      : (i: number) => a.client.callTool({ name: 'remote_echo', arguments: { message: `m${i}` } })
  return {
    client: a.client,
    nodes: [
      { name: 'A', pid: a.pid },
      { name: 'B', pid: b.pid }
    ],
    call
  }
}

/** The collections a node traced: its log's `--trace-gc-nvp` lines (one per collection). */
function collections(log: string): Collections {
  const totals: Collections = { scavenges: 0, promoted: 0, survived: 0, pauseMs: 0, full: 0 }
  for (const line of log.split('\n')) {
    if (/ gc=(mc|ms|mmc) /.test(line)) totals.full++
    if (!line.includes(' gc=s ')) continue
    const field = (name: string): number => Number(new RegExp(` ${name}=([0-9.]+)`).exec(line)?.[1] ?? 0)
    totals.scavenges++
    totals.promoted += field('promoted')
    totals.survived += field('new_space_survived')
    totals.pauseMs += field('pause')
  }
  return totals
}

async function measure(scenario: string, root: string): Promise<string[]> {
  // The toggle of this checkout's bench for every variant (it is bench machinery, not the node).
  const options = `--import ${join(ROOT, 'dist', 'bench', 'gc', 'nvp-toggle.js')}`
  const setup = await setUp(scenario, root, options)
  // The node logs as they are before the window: only what follows is this window's.
  const logs = await Promise.all(setup.nodes.map(async ({ pid }) => readlink(`/proc/${pid}/fd/1`)))
  const before = await Promise.all(logs.map(async (path) => (await readFile(path, 'utf8')).length))
  let next = 0
  let stop = false
  const workers = Array.from({ length: IN_FLIGHT }, async () => {
    while (!stop) await setup.call(next++)
  })
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS))
  for (const { pid } of setup.nodes) process.kill(pid, 'SIGUSR2')
  const from = next
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS))
  for (const { pid } of setup.nodes) process.kill(pid, 'SIGUSR2')
  const calls = next - from
  stop = true
  await Promise.all(workers)
  const rows: string[] = []
  for (const [i, { name }] of setup.nodes.entries()) {
    const c = collections((await readFile(logs[i]!, 'utf8')).slice(before[i]))
    const per = (value: number): string => (c.scavenges === 0 ? '-' : (value / c.scavenges / 1024).toFixed(0))
    const pause = c.scavenges === 0 ? '-' : (c.pauseMs / c.scavenges).toFixed(1)
    rows.push(
      `| ${scenario} | ${name} | ${c.scavenges} | ${per(c.promoted)} | ${per(c.survived)} | ${pause} | ${c.full} | ${calls} |`
    )
  }
  await setup.client.close()
  await disposeAll()
  return rows
}

const out: string[] = []
for (const { label, root } of checkoutVariants('BENCH_GC_VARIANTS') ?? [{ label: 'head', root: ROOT }]) {
  out.push(
    '',
    `${label} (${root}), ${IN_FLIGHT} in flight, ${WINDOW_MS} ms window after ${WARMUP_MS} ms of load:`,
    '',
    '| scenario | node | scavenges | promoted KB per scavenge | survived KB | pause ms | full GCs | calls |',
    '|---|---|---|---|---|---|---|---|'
  )
  for (const scenario of (process.env.BENCH_GC_SCENARIOS ?? 'remote,queue,shared').split(',')) {
    out.push(...(await measure(scenario, root)))
  }
}
process.stdout.write(`${out.join('\n')}\n`)
