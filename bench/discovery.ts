/**
 * Discovery benchmarks (issue 6), on loopback:
 *  - join: time for a NEW node given one bootstrap address to see every peer
 *    (connected to all) and every tool (each mesh node exports its own) of an
 *    N-node mesh, for N = 10 and 25;
 *  - memory per connection: heap (after a forced GC), external and RSS of the
 *    first mesh node alone at start and connected to the N-1 others.
 * Sized by BENCH_DISCOVERY_SIZES (default "10,25") and BENCH_DISCOVERY_RUNS
 * (joins per size, default 3). Prints a JSON report on stdout and writes
 * bench/RESULTS-discovery.md. BENCH_DEBUG=1 passes the nodes' stderr
 * through; BENCH_JOINER_DEBUG sets DEBUG for the joining node only (e.g.
 * `mcp-mesh:catalog*,mcp-mesh:mcp*` shows each descriptor fetch's timing).
 *
 * Run: npm run build && node dist/bench/discovery.js
 */
import { type ChildProcess, execFile, fork, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect as netConnect } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Client } from '@modelcontextprotocol/client'
import { StreamClientTransport } from '../src/mcp/stream-transport.js'

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
}

const ROOT = findRoot()
const BIN = join(ROOT, 'bin', 'mcp-mesh.js')
const NODE = process.execPath
const TOOLS = join(ROOT, 'bench', 'fixtures', 'bench-tools.mjs')
const HUB = join(ROOT, 'dist', 'bench', 'discovery-hub.js')
const SIZES = (process.env.BENCH_DISCOVERY_SIZES ?? '10,25').split(',').map(Number)
const RUNS = Number(process.env.BENCH_DISCOVERY_RUNS ?? 3)
const POLL_MS = 10
const MESH_TIMEOUT_MS = 300_000
/** The mesh counts as formed when every node has this many peers (or all of them). */
const FORMED_PEERS = 8
const QUIET_MS = 10_000
const JOIN_TIMEOUT_MS = 60_000
const execFileAsync = promisify(execFile)
interface Daemon {
  index: number
  home: string
  peerId: string
  address: string
  tool: string
  process: ChildProcess
  client: Client
  spawnedAt: number
  readyAt: number
}

/** Every node this bench started: killed if the bench itself is interrupted. */
const children = new Set<ChildProcess>()

function track(child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of children) child.kill('SIGKILL')
    process.exit(130)
  })
}

const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function log(message: string): void {
  process.stderr.write(`bench:discovery: ${message}\n`)
}

async function makeHome(root: string, name: string): Promise<{ home: string; peerId: string }> {
  const home = join(root, name)
  const { stdout } = await execFileAsync(NODE, [BIN, 'init', '--home', home])
  const { peerId } = JSON.parse(stdout) as { peerId: string }
  const configPath = join(home, 'config.json')
  const config = JSON.parse(await readFile(configPath, 'utf8')) as {
    addresses: { listen: string[] }
    discovery: { mdns: { enabled: boolean } }
    tools: string[]
  }
  config.addresses.listen = ['/ip4/127.0.0.1/tcp/0']
  config.discovery.mdns.enabled = false
  config.tools = [TOOLS]
  await writeFile(configPath, JSON.stringify(config, null, 2))
  return { home, peerId }
}

async function openApi(home: string, deadline: number, child?: ChildProcess): Promise<Client> {
  for (;;) {
    if (child != null && child.exitCode != null) throw new Error(`the node on ${home} exited (${child.exitCode})`)
    try {
      const socket = await new Promise<ReturnType<typeof netConnect>>((resolve, reject) => {
        const s = netConnect(join(home, 'api.sock'))
        s.once('connect', () => resolve(s))
        s.once('error', reject)
      })
      const client = new Client({ name: 'bench-discovery', version: '1.0.0' })
      await client.connect(new StreamClientTransport(socket, socket))
      return client
    } catch (err) {
      if (Date.now() > deadline) throw err
      await sleep(POLL_MS)
    }
  }
}

async function startDaemon(index: number, root: string, name: string, bootstrap: string | undefined): Promise<Daemon> {
  const { home, peerId } = await makeHome(root, name)
  const tool = `bench_tool_${name}`
  const args = [BIN, 'daemon', '--home', home, '--no-mdns']
  if (bootstrap != null) args.push('--bootstrap', bootstrap)
  const spawnedAt = performance.now()
  const child = track(
    spawn(NODE, args, {
      stdio: ['ignore', 'ignore', process.env.BENCH_DEBUG != null ? 'inherit' : 'ignore'],
      env: { ...process.env, DEBUG: process.env.BENCH_JOINER_DEBUG, BENCH_TOOL_NAME: tool }
    })
  )
  const client = await openApi(home, Date.now() + 120_000, child)
  const readyAt = performance.now()
  const address = await loopbackAddress(client, peerId)
  return { index, home, peerId, address, tool, process: child, client, spawnedAt, readyAt }
}

async function loopbackAddress(client: Client, peerId: string): Promise<string> {
  const result = await client.callTool({ name: 'mesh_status', arguments: {} })
  const addresses = (result.structuredContent as { addresses: string[] }).addresses
  const address = addresses.find((a) => a.startsWith('/ip4/127.0.0.1/tcp/') && !a.includes('/ws'))
  if (address == null) throw new Error(`no loopback address in ${JSON.stringify(addresses)}`)
  return address.includes('/p2p/') ? address : `${address}/p2p/${peerId}`
}

async function stopDaemon(daemon: Daemon): Promise<void> {
  await daemon.client.close().catch(() => {})
  if (daemon.process.exitCode != null) return
  const exited = new Promise<void>((resolve) => daemon.process.once('exit', () => resolve()))
  if (daemon.process.connected) daemon.process.send({ type: 'stop' })
  else daemon.process.kill('SIGTERM')
  await Promise.race([exited, sleep(10_000)])
  if (daemon.process.exitCode == null) daemon.process.kill('SIGKILL')
}

async function status(daemon: Daemon): Promise<{ connectedPeers: Array<{ peerId: string }> }> {
  const result = await daemon.client.callTool({ name: 'mesh_status', arguments: {} })
  return result.structuredContent as { connectedPeers: Array<{ peerId: string }> }
}

async function toolNames(daemon: Daemon): Promise<Set<string>> {
  return new Set((await daemon.client.listTools()).tools.map((tool) => tool.name))
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

interface JoinResult {
  readyMs: number
  peersMs: number | null
  toolsMs: number | null
  /** Tools still not listed when the join timed out. */
  missingTools?: number
  /** Mesh nodes connected when the join timed out. */
  peersReached?: number
}

interface SizeResult {
  size: number
  meshFormedMs: number
  joins: JoinResult[]
  median: { readyMs: number; peersMs: number | null; toolsMs: number | null }
  memory: {
    /** The libp2p stack alone (libp2pDefaults, no mesh layer), connected to the mesh's nodes. */
    libp2pOnly: { connections: number; heapUsedPerConnectionKiB: number; externalPerConnectionKiB: number }
    connections: number
    /** After a forced GC in the first node, before any peer and with size-1 peers. */
    heapUsedKiB: { before: number; after: number; perConnection: number }
    externalKiB: { before: number; after: number; perConnection: number }
    rssKiB: { before: number; after: number; perConnection: number }
  }
}

interface MemorySample {
  usage: NodeJS.MemoryUsage
  connections: number
  peers: number
}

async function nextMessage<T>(child: ChildProcess, type: string, request?: unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onExit = (): void => reject(new Error(`hub exited before sending ${type}`))
    const onMessage = (message: { type: string }): void => {
      if (message.type !== type) return
      child.off('message', onMessage)
      child.off('exit', onExit)
      resolve(message as T)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
    if (request != null) child.send(request as object)
  })
}

async function measureHub(hub: ChildProcess): Promise<MemorySample> {
  return new Promise<MemorySample>((resolve) => {
    const onMessage = (message: { type: string } & MemorySample): void => {
      if (message.type !== 'memory') return
      hub.off('message', onMessage)
      resolve(message)
    }
    hub.on('message', onMessage)
    hub.send({ type: 'measure' })
  })
}

async function benchSize(size: number): Promise<SizeResult> {
  const root = await mkdtemp(join(tmpdir(), `bench-discovery-${size}-`))
  const daemons: Daemon[] = []
  try {
    log(`${size}-node mesh: starting`)
    const homes = await Promise.all(Array.from({ length: size }, async (_, i) => makeHome(root, `m${i}`)))
    const addressOf = (i: number): string => daemons[i]!.address
    const started = performance.now()
    // Nodes start one after the other, each bootstrapped to one random earlier node. The first
    // runs in a child with --expose-gc (bench/discovery-hub.ts) for the memory figures.
    let before: MemorySample | undefined
    for (const [i, home] of homes.entries()) {
      const env = { ...process.env, BENCH_TOOL_NAME: `bench_tool_m${i}` }
      const spawnedAt = performance.now()
      let child: ChildProcess
      if (i === 0) {
        child = track(
          fork(HUB, [home.home], { execArgv: ['--expose-gc'], env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
        )
      } else {
        const args = [
          BIN,
          'daemon',
          '--home',
          home.home,
          '--no-mdns',
          '--bootstrap',
          addressOf(Math.floor(Math.random() * i))
        ]
        child = track(
          spawn(NODE, args, {
            stdio: ['ignore', 'ignore', process.env.BENCH_DEBUG != null ? 'inherit' : 'ignore'],
            env
          })
        )
      }
      const client = await openApi(home.home, Date.now() + 120_000, child)
      const readyAt = performance.now()
      daemons.push({
        index: i,
        home: home.home,
        peerId: home.peerId,
        address: await loopbackAddress(client, home.peerId),
        tool: `bench_tool_m${i}`,
        process: child,
        client,
        spawnedAt,
        readyAt
      })
      if (i === 0) {
        await sleep(2_000)
        before = await measureHub(child)
      }
    }
    const ids = daemons.map((d) => d.peerId)
    const tools = daemons.map((d) => d.tool)
    // Formed: every node connected to at least FORMED_PEERS others (the joiner needs the nodes up
    // and routable, not a full graph among them). Then a quiet period so joins do not race formation.
    const formedPeers = Math.min(size - 1, FORMED_PEERS)
    const deadline = Date.now() + MESH_TIMEOUT_MS
    for (const daemon of daemons) {
      for (;;) {
        const connected = new Set((await status(daemon)).connectedPeers.map((p) => p.peerId))
        if (ids.filter((id) => id !== daemon.peerId && connected.has(id)).length >= formedPeers) break
        if (Date.now() > deadline)
          throw new Error(`${size}-node mesh did not form (node ${daemon.index}: ${connected.size} peers)`)
        await sleep(100)
      }
    }
    const meshFormedMs = performance.now() - started
    log(`${size}-node mesh formed in ${Math.round(meshFormedMs)} ms`)
    await sleep(QUIET_MS)

    const joins: JoinResult[] = []
    for (let run = 0; run < RUNS; run++) {
      const target = daemons[run % size]!
      const joiner = await startDaemon(size + run, root, `j${run}`, addressOf(target.index))
      const expectedTools = [...tools, joiner.tool]
      let peersMs: number | undefined
      let toolsMs: number | undefined
      let missing = expectedTools.length
      let reached = 0
      const joinDeadline = performance.now() + JOIN_TIMEOUT_MS
      while ((peersMs == null || toolsMs == null) && performance.now() < joinDeadline) {
        if (peersMs == null) {
          const connected = new Set((await status(joiner)).connectedPeers.map((p) => p.peerId))
          reached = ids.filter((id) => connected.has(id)).length
          if (reached === ids.length) peersMs = performance.now() - joiner.readyAt
        }
        if (toolsMs == null) {
          const names = await toolNames(joiner)
          missing = expectedTools.filter((name) => !names.has(name)).length
          if (missing === 0) toolsMs = performance.now() - joiner.readyAt
        }
        await sleep(POLL_MS)
      }
      const result: JoinResult = {
        readyMs: Math.round(joiner.readyAt - joiner.spawnedAt),
        peersMs: peersMs != null ? Math.round(peersMs) : null,
        toolsMs: toolsMs != null ? Math.round(toolsMs) : null
      }
      if (toolsMs == null) result.missingTools = missing
      if (peersMs == null) result.peersReached = reached
      log(`${size}-node mesh, join ${run + 1}: ${JSON.stringify(result)}`)
      joins.push(result)
      await stopDaemon(joiner)
    }

    // Memory of the first node: with size-1 peers now, against itself alone at start.
    await sleep(2_000)
    const after = await measureHub(daemons[0]!.process)
    const connections = after.peers - (before?.peers ?? 0)
    const kib = (bytes: number): number => Math.round(bytes / 1024)
    const delta = (
      pick: (u: NodeJS.MemoryUsage) => number
    ): { before: number; after: number; perConnection: number } => ({
      before: kib(pick(before!.usage)),
      after: kib(pick(after.usage)),
      perConnection: kib((pick(after.usage) - pick(before!.usage)) / Math.max(1, connections))
    })
    // The libp2p stack alone: a bare host built from the same config dials every mesh node.
    const bareHome = await makeHome(root, 'bare')
    const bare = track(
      fork(HUB, [bareHome.home, 'libp2p'], {
        execArgv: ['--expose-gc'],
        env: process.env,
        stdio: ['ignore', 'ignore', 'inherit', 'ipc']
      })
    )
    let libp2pOnly: SizeResult['memory']['libp2pOnly']
    try {
      await nextMessage(bare, 'ready')
      await sleep(2_000)
      const bareBefore = await measureHub(bare)
      await nextMessage(bare, 'dialed', { type: 'dial', addresses: daemons.map((d) => d.address) })
      await sleep(3_000)
      const bareAfter = await measureHub(bare)
      const peers = Math.max(1, bareAfter.peers - bareBefore.peers)
      libp2pOnly = {
        connections: bareAfter.peers - bareBefore.peers,
        heapUsedPerConnectionKiB: kib((bareAfter.usage.heapUsed - bareBefore.usage.heapUsed) / peers),
        externalPerConnectionKiB: kib(
          (bareAfter.usage.external +
            bareAfter.usage.arrayBuffers -
            bareBefore.usage.external -
            bareBefore.usage.arrayBuffers) /
            peers
        )
      }
    } finally {
      if (bare.connected) bare.send({ type: 'stop' })
      await Promise.race([new Promise((resolve) => bare.once('exit', resolve)), sleep(10_000)])
      if (bare.exitCode == null) bare.kill('SIGKILL')
    }
    const toolsTimes = joins.map((j) => j.toolsMs).filter((t): t is number => t != null)
    return {
      size,
      meshFormedMs: Math.round(meshFormedMs),
      joins,
      median: {
        readyMs: median(joins.map((j) => j.readyMs)),
        peersMs: joins.every((j) => j.peersMs != null) ? median(joins.map((j) => j.peersMs!)) : null,
        toolsMs: toolsTimes.length === joins.length ? median(toolsTimes) : null
      },
      memory: {
        libp2pOnly,
        connections,
        heapUsedKiB: delta((u) => u.heapUsed),
        externalKiB: delta((u) => u.external + u.arrayBuffers),
        rssKiB: delta((u) => u.rss)
      }
    }
  } finally {
    await Promise.all(daemons.map(stopDaemon))
    await rm(root, { recursive: true, force: true }).catch(() => {})
  }
}

function msOr(value: number | null): string {
  return value != null ? `${value} ms` : `not reached in ${JOIN_TIMEOUT_MS / 1000} s`
}

function markdown(report: { date: string; node: string; loadAverage: number; results: SizeResult[] }): string {
  const lines = [
    '# Discovery benchmarks (issue 6)',
    '',
    `Run ${report.date} on Node ${report.node}, ${RUNS} joins per size, loopback only, load average ${report.loadAverage.toFixed(2)} at start.`,
    '`node dist/bench/discovery.js` (after `npm run build`); sized by BENCH_DISCOVERY_SIZES and BENCH_DISCOVERY_RUNS.',
    '',
    'A new node is started with one bootstrap address (an existing mesh node). Times are from its',
    'local API being up ("ready", itself measured from process spawn) until it is connected to every',
    'mesh node ("all peers") and until its tools/list shows the tool each mesh node exports ("all tools").',
    '',
    '| mesh size | mesh formed (every node ≥ 8 peers) | join: ready (spawn → API) | all peers (median) | all tools (median) | joins (peers / tools ms) |',
    '|---|---|---|---|---|---|'
  ]
  for (const r of report.results) {
    lines.push(
      `| ${r.size} | ${r.meshFormedMs} ms | ${r.median.readyMs} ms | ${msOr(r.median.peersMs)} | ${msOr(r.median.toolsMs)} | ${r.joins
        .map((j) => `${j.peersMs ?? `–(${j.peersReached}/${r.size})`} / ${j.toolsMs ?? `–(${j.missingTools} missing)`}`)
        .join(', ')} |`
    )
  }
  lines.push(
    '',
    '## Memory per connection',
    '',
    'The first mesh node runs with --expose-gc; its memory after a forced GC alone (at start) and',
    'connected to every other mesh node. The difference covers the per-peer state of every layer',
    '(yamux, noise, identify, peer store, kad-dht routing table, gossipsub, the mesh catalog with the',
    "peer's tool descriptors, pooled /mcp+p2p streams). external includes arrayBuffers (socket buffers).",
    '',
    '| mesh size | peers | heapUsed alone → connected | per connection | external alone → connected | per connection | RSS per connection |',
    '|---|---|---|---|---|---|---|'
  )
  for (const r of report.results) {
    const m = r.memory
    lines.push(
      `| ${r.size} | ${m.connections} | ${m.heapUsedKiB.before} → ${m.heapUsedKiB.after} KiB | ${m.heapUsedKiB.perConnection} KiB | ${m.externalKiB.before} → ${m.externalKiB.after} KiB | ${m.externalKiB.perConnection} KiB | ${m.rssKiB.perConnection} KiB |`
    )
  }
  lines.push(
    '',
    'The libp2p stack alone (a bare host from libp2pDefaults, same services, no mesh layer or MCP), dialling every node of the mesh:',
    '',
    '| mesh size | connections | heapUsed per connection | external per connection |',
    '|---|---|---|---|'
  )
  for (const r of report.results) {
    const l = r.memory.libp2pOnly
    lines.push(
      `| ${r.size} | ${l.connections} | ${l.heapUsedPerConnectionKiB} KiB | ${l.externalPerConnectionKiB} KiB |`
    )
  }
  lines.push('')
  return `${lines.join('\n')}\n`
}

async function main(): Promise<void> {
  const loadAverage = loadavg()[0] ?? 0
  const results: SizeResult[] = []
  for (const size of SIZES) results.push(await benchSize(size))
  const report = { date: new Date().toISOString(), node: process.versions.node, loadAverage, results }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  await writeFile(join(ROOT, 'bench', 'RESULTS-discovery.md'), markdown(report))
  log('wrote bench/RESULTS-discovery.md')
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:discovery failed: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  }
)
