/**
 * Scale bench, on loopback, side by side in one run:
 *  - N mcp-mesh daemons (each exports one tool) and N bare js-libp2p nodes
 *    (bench/scale/bare-node.ts: tcp, noise, yamux, identify, ping, kad-dht,
 *    gossipsub subscribed to one topic), both all-to-all connected;
 *  - after a settle, idle CPU per process from /proc/<pid>/stat (utime +
 *    stime) over a window, and RSS (VmRSS), per node (the measured pid is the
 *    process running the node: a launcher's child when the bin re-executes);
 *  - then newcomers, each given one bootstrap address: time from its API
 *    being up until its tools/list shows every node's tool.
 * Sized by BENCH_SCALE_SIZES (default "10,25"), BENCH_SCALE_SETTLE_MS
 * (60000), BENCH_SCALE_WINDOW_MS (30000), BENCH_SCALE_JOINS (3),
 * BENCH_SCALE_BARE (0: no bare nodes). Prints
 * JSON on stdout; the load average is part of it (the machine is shared).
 *
 * Run: npm run build && node_modules/.bin/node dist/bench/scale/idle.js
 */
import { type ChildProcess, execFile, fork, spawn } from 'node:child_process'
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect as netConnect } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Client } from '@modelcontextprotocol/client'
import { StreamClientTransport } from '../../src/mcp/stream-transport.js'

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
}

const ROOT = findRoot()
const BIN = join(ROOT, 'bin', 'mcp-mesh.js')
/**
 * BENCH_SCALE_JOIN_VARIANTS="before=/work/main,after=/work/wt/scale": each join
 * round runs one newcomer per variant (its bin/ and dist/), interleaved, against
 * the same mesh, so a joiner-side change is compared in one run.
 */
const JOIN_VARIANTS: Array<{ name: string; bin: string }> = (process.env.BENCH_SCALE_JOIN_VARIANTS ?? '')
  .split(',')
  .filter(Boolean)
  .map((entry) => {
    const [name, root] = entry.split('=') as [string, string]
    return { name, bin: join(root, 'bin', 'mcp-mesh.js') }
  })
interface MeshBuild {
  name: string
  bin: string
  /** Home-name prefix and mesh name: several builds run side by side as separate meshes. */
  prefix: string
  meshName?: string
}
/**
 * BENCH_SCALE_MESH_VARIANTS="main=/work/main,mine=/work/wt/scale": one mesh per
 * build (its bin/ and dist/), each under its own mesh name, all measured in the
 * same window next to the same bare nodes (before/after in one run).
 */
const MESHES: MeshBuild[] = (process.env.BENCH_SCALE_MESH_VARIANTS ?? '')
  .split(',')
  .filter(Boolean)
  .map((entry) => {
    const [name, root] = entry.split('=') as [string, string]
    return { name, bin: join(root, 'bin', 'mcp-mesh.js'), prefix: `${name}-`, meshName: `bench-${name}` }
  })
if (MESHES.length === 0) MESHES.push({ name: 'mesh', bin: BIN, prefix: '' })
/**
 * BENCH_DEBUG=<DEBUG pattern, e.g. mcp-mesh:*>: each newcomer logs with that
 * pattern to BENCH_DEBUG_DIR (default /tmp/bench-scale-debug)/<name>.log, and
 * the bench logs when each newcomer's missing-tool count changes.
 */
const DEBUG_PATTERN = process.env.BENCH_DEBUG
const DEBUG_DIR = process.env.BENCH_DEBUG_DIR ?? join(tmpdir(), 'bench-scale-debug')
/** BENCH_DEBUG_MEMBERS=<DEBUG pattern>: the mesh's own daemons log too (m<i>.log in BENCH_DEBUG_DIR). */
const DEBUG_MEMBERS = process.env.BENCH_DEBUG_MEMBERS
const NODE = process.execPath
const TOOLS = join(ROOT, 'bench', 'fixtures', 'bench-tools.mjs')
const BARE = join(ROOT, 'dist', 'bench', 'scale', 'bare-node.js')
const SIZES = (process.env.BENCH_SCALE_SIZES ?? '10,25').split(',').map(Number)
const SETTLE_MS = Number(process.env.BENCH_SCALE_SETTLE_MS ?? 60_000)
const WINDOW_MS = Number(process.env.BENCH_SCALE_WINDOW_MS ?? 30_000)
const JOINS = Number(process.env.BENCH_SCALE_JOINS ?? 3)
/** BENCH_SCALE_BARE=0 skips the bare nodes (formation and joins only, e.g. at N = 50). */
const WITH_BARE = process.env.BENCH_SCALE_BARE !== '0'
const CLK_TCK = 100
const execFileAsync = promisify(execFile)
const children = new Set<ChildProcess>()
const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

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
function log(message: string): void {
  process.stderr.write(`bench:scale: ${message}\n`)
}

/** The pid running the node: the launcher's child if it re-executed itself. */
function nodePid(pid: number): number {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
    if (kids.length > 0) return Number(kids[0])
  } catch {}
  return pid
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1] ?? 0)
}

interface Daemon {
  peerId: string
  address: string
  tool: string
  process: ChildProcess
  client: Client
  home: string
  spawnedAt: number
  readyAt: number
}

async function makeHome(
  root: string,
  name: string,
  bin: string,
  meshName?: string
): Promise<{ home: string; peerId: string }> {
  const home = join(root, name)
  const { stdout } = await execFileAsync(NODE, [bin, 'init', '--home', home])
  const { peerId } = JSON.parse(stdout) as { peerId: string }
  const path = join(home, 'config.json')
  const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown> & {
    addresses: { listen: string[] }
    discovery: { mdns: { enabled: boolean } }
    mesh: { name: string }
  }
  if (meshName != null) config.mesh.name = meshName
  config.addresses.listen = ['/ip4/127.0.0.1/tcp/0']
  config.discovery.mdns.enabled = false
  config.tools = [TOOLS]
  await writeFile(path, JSON.stringify(config, null, 2))
  return { home, peerId }
}

async function openApi(home: string, child: ChildProcess): Promise<Client> {
  const deadline = Date.now() + 180_000
  for (;;) {
    if (child.exitCode != null) throw new Error(`node on ${home} exited (${child.exitCode})`)
    try {
      const socket = await new Promise<ReturnType<typeof netConnect>>((resolve, reject) => {
        const s = netConnect(join(home, 'api.sock'))
        s.once('connect', () => resolve(s))
        s.once('error', reject)
      })
      const client = new Client({ name: 'bench-scale', version: '1.0.0' })
      await client.connect(new StreamClientTransport(socket, socket))
      return client
    } catch (err) {
      if (Date.now() > deadline) throw err
      await sleep(20)
    }
  }
}

async function call<T>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const result = await client.callTool({ name, arguments: args })
  return result.structuredContent as T
}

async function startDaemon(
  root: string,
  name: string,
  bootstrap?: string,
  options: { bin?: string; debug?: boolean; mesh?: string } = {}
): Promise<Daemon> {
  const bin = options.bin ?? BIN
  const { home, peerId } = await makeHome(root, name, bin, options.mesh)
  const tool = `bench_tool_${name.replaceAll('-', '_')}`
  const args = [bin, 'daemon', '--home', home, '--no-mdns', ...(bootstrap != null ? ['--bootstrap', bootstrap] : [])]
  let stderr: 'ignore' | number = 'ignore'
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_TOOL_NAME: tool }
  delete env.DEBUG
  const pattern = options.debug === true ? DEBUG_PATTERN : DEBUG_MEMBERS
  if (pattern != null) {
    mkdirSync(DEBUG_DIR, { recursive: true })
    stderr = openSync(join(DEBUG_DIR, `${name}.log`), 'w')
    env.DEBUG = pattern
  }
  const spawnedAt = performance.now()
  const child = track(spawn(NODE, args, { stdio: ['ignore', 'ignore', stderr], env }))
  const client = await openApi(home, child)
  const readyAt = performance.now()
  const { addresses } = await call<{ addresses: string[] }>(client, 'mesh_status')
  const address = addresses.find((a) => a.startsWith('/ip4/127.0.0.1/tcp/') && !a.includes('/ws'))
  if (address == null) throw new Error('no loopback address')
  return {
    peerId,
    address: address.includes('/p2p/') ? address : `${address}/p2p/${peerId}`,
    tool,
    process: child,
    client,
    home,
    spawnedAt,
    readyAt
  }
}

async function stopDaemon(daemon: Daemon): Promise<void> {
  await daemon.client.close().catch(() => {})
  if (daemon.process.exitCode != null) return
  const exited = new Promise<void>((resolve) => daemon.process.once('exit', () => resolve()))
  daemon.process.kill('SIGTERM')
  await Promise.race([exited, sleep(10_000)])
  if (daemon.process.exitCode == null) daemon.process.kill('SIGKILL')
}

async function request<T>(child: ChildProcess, message: object, type: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: { type: string }): void => {
      if (m.type !== type) return
      child.off('message', onMessage)
      resolve(m as T)
    }
    child.on('message', onMessage)
    child.once('exit', () => reject(new Error('bare node exited')))
    if (Object.keys(message).length > 0) child.send(message)
  })
}

async function connectedPeers(daemon: Daemon): Promise<Set<string>> {
  const status = await call<{ connectedPeers: Array<{ peerId: string }> }>(daemon.client, 'mesh_status')
  return new Set(status.connectedPeers.map((p) => p.peerId))
}

interface Sample {
  cpuPercent: number
  rssMiB: number
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function summary(samples: Sample[]): { cpuPercentMean: number; cpuPercentMedian: number; rssMiBMean: number } {
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  const round = (x: number): number => Math.round(x * 100) / 100
  return {
    cpuPercentMean: round(mean(samples.map((s) => s.cpuPercent))),
    cpuPercentMedian: round(median(samples.map((s) => s.cpuPercent))),
    rssMiBMean: round(mean(samples.map((s) => s.rssMiB)))
  }
}

/** Which member lacks which member's tool after the settle (BENCH_DEBUG): the contacts' view a newcomer inherits. */
async function logCatalogGaps(daemons: Daemon[]): Promise<void> {
  const lacking = new Map<string, string[]>()
  for (const [i, daemon] of daemons.entries()) {
    const names = new Set((await daemon.client.listTools()).tools.map((t) => t.name))
    for (const [j, other] of daemons.entries()) {
      if (i === j || names.has(other.tool)) continue
      lacking.set(`m${j}`, [...(lacking.get(`m${j}`) ?? []), `m${i}`])
    }
  }
  log(`catalog gaps after the settle (tool of -> members lacking it): ${lacking.size === 0 ? 'none' : ''}`)
  for (const [owner, members] of lacking)
    log(`  ${owner} (${daemons[Number(owner.slice(1))]!.peerId}): ${members.length} lack it: ${members.join(' ')}`)
}

/** One mesh of `size` daemons of one build: sequential start, each bootstrapped to a random earlier one, then all-to-all. */
async function formMesh(root: string, size: number, mesh: MeshBuild, daemons: Daemon[]): Promise<number> {
  const started = performance.now()
  for (let i = 0; i < size; i++) {
    const bootstrap = i === 0 ? undefined : daemons[Math.floor(Math.random() * i)]!.address
    daemons.push(await startDaemon(root, `${mesh.prefix}m${i}`, bootstrap, { bin: mesh.bin, mesh: mesh.meshName }))
  }
  // All-to-all, as the bare nodes: wait for join by name, then connect what is still missing.
  const ids = daemons.map((d) => d.peerId)
  const formDeadline = Date.now() + 300_000
  for (const daemon of daemons) {
    for (;;) {
      const connected = await connectedPeers(daemon)
      if (ids.filter((id) => id !== daemon.peerId && connected.has(id)).length >= Math.min(size - 1, 8)) break
      if (Date.now() > formDeadline) throw new Error(`${size}-node mesh did not form`)
      await sleep(200)
    }
  }
  const formedMs = Math.round(performance.now() - started)
  log(`${mesh.name}: ${size}-node mesh formed (8 peers each) in ${formedMs} ms; completing all-to-all`)
  for (const daemon of daemons) {
    const connected = await connectedPeers(daemon)
    for (const other of daemons) {
      if (other === daemon || connected.has(other.peerId)) continue
      await call(daemon.client, 'peer_connect', { address: other.address }).catch(() => {})
    }
  }
  return formedMs
}

/** Newcomers into one mesh: time from the API being up until tools/list shows every member's tool. */
async function joinMesh(
  root: string,
  size: number,
  mesh: MeshBuild,
  daemons: Daemon[]
): Promise<Array<Record<string, number | string | null>>> {
  const joins: Array<Record<string, number | string | null>> = []
  const variants = JOIN_VARIANTS.length > 0 ? JOIN_VARIANTS : [{ name: mesh.name, bin: mesh.bin }]
  for (let run = 0; run < JOINS; run++) {
    for (const variant of variants) {
      const contact = daemons[(run * 7) % size]!
      const label = `${mesh.prefix}j${run}-${variant.name}`
      const joiner = await startDaemon(root, label, contact.address, {
        bin: variant.bin,
        debug: true,
        mesh: mesh.meshName
      })
      const expected = daemons.map((d) => d.tool)
      let toolsMs: number | null = null
      let missing = expected.length
      const deadline = performance.now() + 60_000
      while (toolsMs == null && performance.now() < deadline) {
        const names = new Set((await joiner.client.listTools()).tools.map((t) => t.name))
        const now = expected.filter((name) => !names.has(name)).length
        if (DEBUG_PATTERN != null && now !== missing)
          log(
            `${label}: ${Math.round(performance.now() - joiner.readyAt)} ms after ready: ${now} tools missing (${new Date().toISOString()})`
          )
        missing = now
        if (missing === 0) toolsMs = Math.round(performance.now() - joiner.readyAt)
        else await sleep(10)
      }
      const result = { variant: variant.name, startMs: Math.round(joiner.readyAt - joiner.spawnedAt), toolsMs, missing }
      log(`${size}: join ${run + 1}: ${JSON.stringify(result)}`)
      joins.push(result)
      await stopDaemon(joiner)
    }
  }
  return joins
}

async function benchSize(size: number): Promise<Record<string, unknown>> {
  const root = await mkdtemp(join(tmpdir(), `bench-scale-${size}-`))
  const meshes = MESHES.map((mesh) => ({ mesh, daemons: [] as Daemon[], formedMs: 0 }))
  const bare: ChildProcess[] = []
  try {
    log(`${size} bare nodes: starting`)
    const bareAddrs: string[] = []
    for (let i = 0; i < (WITH_BARE ? size : 0); i++) {
      const child = track(fork(BARE, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }))
      const ready = await request<{ address: string }>(child, {}, 'ready')
      if (bareAddrs.length > 0) await request(child, { type: 'dial', addresses: [...bareAddrs] }, 'dialed')
      bareAddrs.push(ready.address)
      bare.push(child)
    }
    for (const m of meshes) {
      log(`${m.mesh.name}: ${size} mcp-mesh nodes: starting`)
      m.formedMs = await formMesh(root, size, m.mesh, m.daemons)
    }
    log(`settling ${SETTLE_MS} ms`)
    await sleep(SETTLE_MS)
    if (DEBUG_PATTERN != null) for (const m of meshes) await logCatalogGaps(m.daemons)
    const meshPids = meshes.map((m) => m.daemons.map((d) => nodePid(d.process.pid!)))
    const barePids = bare.map((c) => c.pid!)
    const pids = [...meshPids.flat(), ...barePids]
    const load = loadavg()
    const t0 = pids.map(cpuTicks)
    const wallStart = performance.now()
    const windowStartUs = process.hrtime.bigint() / 1000n
    await sleep(WINDOW_MS)
    const t1 = pids.map(cpuTicks)
    const wall = (performance.now() - wallStart) / 1000
    // The window on the monotonic clock that CPU profiles use (µs): to cut a node's --cpu-prof to the window.
    log(`window (monotonic µs): ${windowStartUs} .. ${process.hrtime.bigint() / 1000n}`)
    const samples = pids.map((pid, i) => ({
      cpuPercent: ((t1[i]! - t0[i]!) / CLK_TCK / wall) * 100,
      rssMiB: rssKiB(pid) / 1024
    }))
    const bareConnections = await Promise.all(
      bare.map(async (c) => (await request<{ connections: number }>(c, { type: 'status' }, 'status')).connections)
    )
    const bareSummary = summary(samples.slice(meshes.length * size))
    /** Each node's CPU % of the window (a few busy nodes show here, not in the median). */
    const perNodeCpu = (from: number, to: number): number[] =>
      samples.slice(from, to).map((sample) => Math.round(sample.cpuPercent * 100) / 100)
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
    const ratio = (a: number, b: number): number | null =>
      WITH_BARE ? Math.round((a / Math.max(0.001, b)) * 100) / 100 : null
    const perMesh: Record<string, unknown> = {}
    for (const [k, m] of meshes.entries()) {
      const stats = summary(samples.slice(k * size, (k + 1) * size))
      const connections = await Promise.all(m.daemons.map(async (d) => (await connectedPeers(d)).size))
      log(`${size}: ${m.mesh.name} ${JSON.stringify(stats)} bare ${JSON.stringify(bareSummary)}`)
      perMesh[m.mesh.name] = {
        formedMs: m.formedMs,
        ...stats,
        connectionsMean: mean(connections),
        cpuPercentPerNode: perNodeCpu(k * size, (k + 1) * size),
        startMsMedian: Math.round(median(m.daemons.map((d) => d.readyAt - d.spawnedAt))),
        cpuRatio: ratio(stats.cpuPercentMean, bareSummary.cpuPercentMean),
        rssRatio: ratio(stats.rssMiBMean, bareSummary.rssMiBMean)
      }
    }
    for (const m of meshes) {
      const joins = await joinMesh(root, size, m.mesh, m.daemons)
      const times = joins.map((j) => j.toolsMs).filter((t): t is number => typeof t === 'number')
      Object.assign(perMesh[m.mesh.name] as object, {
        joins,
        joinToolsMsMedian: times.length > 0 ? median(times) : null
      })
    }
    return {
      size,
      loadavg: load.map((x) => Math.round(x * 100) / 100),
      windowMs: WINDOW_MS,
      settleMs: SETTLE_MS,
      bare: WITH_BARE
        ? {
            ...bareSummary,
            connectionsMean: mean(bareConnections),
            cpuPercentPerNode: perNodeCpu(meshes.length * size, samples.length)
          }
        : null,
      meshes: perMesh
    }
  } finally {
    await Promise.all(meshes.flatMap((m) => m.daemons.map(stopDaemon)))
    for (const child of bare) child.kill('SIGTERM')
    await rm(root, { recursive: true, force: true }).catch(() => {})
  }
}

const results: Array<Record<string, unknown>> = []
for (const size of SIZES) results.push(await benchSize(size))
process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`)
process.exit(0)
