/**
 * Mesh-call benchmarks (issue 3), all measured in one run on loopback:
 *  - remote tool call: MCP stdio on A -> /mcp+p2p -> executed on B -> back;
 *  - the floor: a bare js-libp2p request/response on one reused stream
 *    between two processes;
 *  - the alternative: the same tool on B reached over MCP Streamable HTTP;
 *  - throughput with 64 calls in flight through A;
 *  - time from a new provider being ready to its tool being callable on A.
 * Sized by BENCH_CALLS (default 2000) and BENCH_JOIN_RUNS (default 5).
 * Prints a JSON report on stdout and writes bench/RESULTS-mesh.md.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { createLibp2p } from 'libp2p'

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
}

const ROOT = findRoot()
const BIN = join(ROOT, 'bin', 'mcp-mesh.js')
const NODE = process.execPath
const TOOLS = join(ROOT, 'bench', 'fixtures', 'bench-tools.mjs')
const CALLS = Number(process.env.BENCH_CALLS ?? 2000)
const JOIN_RUNS = Number(process.env.BENCH_JOIN_RUNS ?? 5)
const RAW_ECHO_PROTOCOL = '/bench/raw-echo/1.0.0'

interface Stats {
  p50: number
  p99: number
  mean: number
  n: number
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  const round = (v: number): number => Math.round(v * 1000) / 1000
  return { p50: round(at(0.5)), p99: round(at(0.99)), mean: round(samples.reduce((a, b) => a + b, 0) / samples.length), n: samples.length }
}

async function timeSequential(n: number, fn: (i: number) => Promise<unknown>): Promise<Stats> {
  for (let i = 0; i < Math.min(200, n); i++) await fn(i)
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const started = performance.now()
    await fn(i)
    samples.push(performance.now() - started)
  }
  return stats(samples)
}

const cleanups: Array<() => Promise<void>> = []

async function makeHome(config: Record<string, unknown>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'mcp-mesh-bench-'))
  cleanups.push(async () => rm(root, { recursive: true, force: true }))
  const home = join(root, 'home')
  await run([BIN, 'init', '--home', home])
  const path = join(home, 'config.json')
  const current = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  const next = {
    ...current,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    discovery: { mdns: { enabled: false } },
    catalog: { advertIntervalMs: 1000, peerTtlMs: 5000 },
    ...config
  }
  await writeFile(path, JSON.stringify(next, null, 2))
  return home
}

async function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited ${code}`))))
  })
}

async function startNode(home: string, args: string[], env: Record<string, string> = {}): Promise<Client> {
  const transport = new StdioClientTransport({
    command: NODE,
    args: [BIN, 'start', '--home', home, '--no-mdns', ...args],
    env: { ...(process.env as Record<string, string>), ...env },
    stderr: process.env.BENCH_DEBUG != null ? 'inherit' : 'ignore'
  })
  const client = new Client({ name: 'bench', version: '1' })
  await client.connect(transport)
  cleanups.push(async () => {
    await client.close().catch(() => {})
  })
  return client
}

async function status(client: Client): Promise<{ peerId: string; addresses: string[] }> {
  const result = await client.callTool({ name: 'mesh_status', arguments: {} })
  return result.structuredContent as { peerId: string; addresses: string[] }
}

async function waitForTool(client: Client, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const { tools } = await client.listTools()
    if (tools.some((tool) => tool.name === name)) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`${name} never appeared`)
}

async function rawLibp2pBaseline(n: number): Promise<Stats> {
  const child: ChildProcess = spawn(NODE, [join(ROOT, 'dist', 'bench', 'raw-echo-peer.js')], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  cleanups.push(async () => {
    child.kill('SIGTERM')
  })
  const address = await new Promise<string>((resolve) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()))
  })
  const node = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
  cleanups.push(async () => node.stop())
  const stream = await node.dialProtocol(multiaddr(address), RAW_ECHO_PROTOCOL)
  const lp = lpStream(stream)
  const payload = new TextEncoder().encode(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'remote_echo', arguments: { message: 'hello' } } }))
  return timeSequential(n, async () => {
    await lp.write(payload)
    await lp.read()
  })
}

async function main(): Promise<void> {
  const providerHttpPort = 20_000 + Math.floor(Math.random() * 20_000)
  const bHome = await makeHome({ tools: [TOOLS] })
  const b = await startNode(bHome, ['--listen', '/ip4/127.0.0.1/tcp/0', '--http', String(providerHttpPort)])
  const bStatus = await status(b)
  const bAddr = bStatus.addresses.find((a) => a.includes('/tcp/') && !a.includes('/ws'))!
  const aHome = await makeHome({})
  const a = await startNode(aHome, ['--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', bAddr])
  await waitForTool(a, 'remote_echo').catch(async (err: unknown) => {
    const peers = await a.callTool({ name: 'peer_list', arguments: {} })
    throw new Error(`${(err as Error).message}; A sees ${JSON.stringify(peers.structuredContent)}; B is ${JSON.stringify(bStatus)}`)
  })

  const remote = await timeSequential(CALLS, async (i) => a.callTool({ name: 'remote_echo', arguments: { message: `m${i}` } }))
  const local = await timeSequential(CALLS, async (i) => a.callTool({ name: 'echo', arguments: { message: `m${i}` } }))
  const raw = await rawLibp2pBaseline(CALLS)

  const http = new Client({ name: 'bench-http', version: '1' })
  await http.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${providerHttpPort}/mcp`)))
  cleanups.push(async () => http.close())
  const overHttp = await timeSequential(Math.min(CALLS, 1000), async (i) =>
    http.callTool({ name: 'remote_echo', arguments: { message: `m${i}` } })
  )

  // Throughput: 64 in flight, CALLS * 3 calls in all.
  const total = CALLS * 3
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < total) {
        const i = next++
        await a.callTool({ name: 'remote_echo', arguments: { message: `t${i}` } })
      }
    })
  )
  const throughput = Math.round(total / ((performance.now() - started) / 1000))

  // Join to callable: a new provider is ready (answers initialize) -> A can call its tool.
  const joins: number[] = []
  for (let run = 0; run < JOIN_RUNS; run++) {
    const tool = `late_${run}`
    const home = await makeHome({ tools: [TOOLS] })
    const c = await startNode(home, ['--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', bAddr], { BENCH_TOOL_NAME: tool })
    const ready = performance.now()
    await waitForTool(a, tool)
    await a.callTool({ name: tool, arguments: { message: 'x' } })
    joins.push(performance.now() - ready)
    await c.close()
  }

  const report = {
    date: new Date().toISOString(),
    node: process.version,
    calls: CALLS,
    remoteCallViaStdio: remote,
    localEchoViaStdio: local,
    rawLibp2pReusedStream: raw,
    sameToolOverStreamableHttp: overHttp,
    ratios: {
      remoteVsRawLibp2p: Math.round((remote.p50 / raw.p50) * 100) / 100,
      remoteVsHttp: Math.round((remote.p50 / overHttp.p50) * 100) / 100,
      remoteOverheadVsLocalMs: Math.round((remote.p50 - local.p50) * 1000) / 1000
    },
    throughput64InFlightCallsPerSec: throughput,
    joinToCallableMs: stats(joins)
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  await writeFile(join(ROOT, 'bench', 'RESULTS-mesh.md'), renderMarkdown(report))
}

function renderMarkdown(r: {
  date: string
  node: string
  calls: number
  remoteCallViaStdio: Stats
  localEchoViaStdio: Stats
  rawLibp2pReusedStream: Stats
  sameToolOverStreamableHttp: Stats
  ratios: { remoteVsRawLibp2p: number; remoteVsHttp: number; remoteOverheadVsLocalMs: number }
  throughput64InFlightCallsPerSec: number
  joinToCallableMs: Stats
}): string {
  const row = (name: string, s: Stats): string => `| ${name} | ${s.p50} | ${s.p99} | ${s.n} |`
  return `## Mesh tool calls (issue 3)

Measured ${r.date} on this 2-core machine, Node ${r.node}, loopback, one run (\`node dist/bench/mesh-calls.js\`).

| path | p50 ms | p99 ms | calls |
|---|---|---|---|
${row('remote tool: MCP stdio -> A -> /mcp+p2p -> B -> back', r.remoteCallViaStdio)}
${row('local echo on A over MCP stdio (same client)', r.localEchoViaStdio)}
${row('floor: bare js-libp2p request/response, one reused stream, 2 processes', r.rawLibp2pReusedStream)}
${row('alternative: same tool on B over MCP Streamable HTTP', r.sameToolOverStreamableHttp)}

| ratio / figure | value | goal |
|---|---|---|
| remote p50 / bare libp2p p50 | ${r.ratios.remoteVsRawLibp2p} | - |
| remote p50 / Streamable HTTP p50 | ${r.ratios.remoteVsHttp} | <= 0.5 |
| remote p50 - local p50 (mesh hop cost) | ${r.ratios.remoteOverheadVsLocalMs} ms | - |
| remote p50 | ${r.remoteCallViaStdio.p50} ms | <= 0.8 ms |
| throughput, 64 in flight through A | ${r.throughput64InFlightCallsPerSec} calls/s | >= 8,000 |
| new provider ready -> its tool callable on A (median of ${r.joinToCallableMs.n}) | ${r.joinToCallableMs.p50} ms (p99 ${r.joinToCallableMs.p99}) | <= 1,000 ms |
`
}

try {
  await main()
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
}
process.exit(0)
