import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { BIN, EVERYTHING, NODE } from './paths.js'

/** Teardown steps, run newest first by `disposeAll()`. */
const disposers: Array<() => Promise<void>> = []

export async function disposeAll(): Promise<void> {
  while (disposers.length > 0) await disposers.pop()!().catch(() => {})
}

/**
 * Stops a process the bench did not spawn itself (the detached node a
 * bridged `start` launches): SIGTERM, then waits, at most 10 s, for it to be
 * gone. There is no exit event for a process that is not a child: its pid is
 * polled.
 */
export async function stopProcess(pid: number): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  if (!alive()) return
  process.kill(pid, 'SIGTERM')
  const until = Date.now() + 10_000
  while (alive() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50))
}

/**
 * disposeAll() stops `pid` with stopProcess. For the detached node of a
 * bridged `start`: left alone, it would run on for its idle timeout
 * (`lifecycle.idleExitMs`, 30 s) and load the machine under the next bench.
 */
export function disposeProcess(pid: number): void {
  disposers.push(async () => stopProcess(pid))
}

/** The pid of the node holding `home`'s repo lock (a bridged `start`'s detached node), if any. */
export async function lockHolder(home: string): Promise<number | undefined> {
  const holder = Number.parseInt(await readFile(join(home, 'repo.lock'), 'utf8').catch(() => ''), 10)
  return Number.isInteger(holder) && holder > 0 ? holder : undefined
}

/** Every node the bench starts stays on loopback, mDNS off. */
export const LOOPBACK = ['--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0']

function env(extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries({ ...process.env, ...extra })) if (v != null) out[k] = v
  return out
}

/** A fresh, loopback-only home created with `mcp-mesh init`. */
/**
 * A home made by `bin` (this checkout's by default): another build's
 * `init` writes the config its own schema takes (a config written by a
 * newer build can carry keys an older one refuses).
 */
export async function makeHome(bin: string = BIN): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'mcp-mesh-bench-'))
  disposers.push(async () => rm(root, { recursive: true, force: true }))
  const home = join(root, 'home')
  await new Promise<void>((resolve, reject) => {
    const child = spawn(NODE, [bin, 'init', '--home', home], { stdio: ['ignore', 'ignore', 'inherit'] })
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mcp-mesh init exited ${code}`))))
  })
  const path = join(home, 'config.json')
  const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  config.addresses = { listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], noAnnounce: [] }
  config.discovery = { ...(config.discovery as object), mdns: { enabled: false } }
  await writeFile(path, JSON.stringify(config, null, 2))
  return home
}

export interface StdioTarget {
  label: string
  command: string
  args: string[]
  /** Extra environment for the process. */
  env?: Record<string, string>
}

/**
 * `start` in the foreground: the node runs in the spawned process (whose pid
 * the benches sample for CPU and kill), not in a detached one (docs/lifecycle.md).
 */
export function meshTarget(home: string): StdioTarget {
  return { label: 'mcp-mesh start', command: NODE, args: [BIN, 'start', '--foreground', '--home', home, ...LOOPBACK] }
}

/** A minimal SDK v2 server (bench/foundation/minimal-server.ts), built to dist. */
export function minimalTarget(): StdioTarget {
  return {
    label: 'minimal SDK v2 server',
    command: NODE,
    args: [fileURLToPath(new URL('./minimal-server.js', import.meta.url))]
  }
}

/** Our MCP front alone, no libp2p (bench/foundation/front-server.ts), built to dist. */
export function frontTarget(): StdioTarget {
  return {
    label: 'mcp-mesh front only',
    command: NODE,
    args: [fileURLToPath(new URL('./front-server.js', import.meta.url))]
  }
}

export function everythingTarget(): StdioTarget {
  return { label: 'server-everything', command: NODE, args: [EVERYTHING, 'stdio'] }
}

export interface StdioConnection {
  client: Client
  /** The server's pid (for its CPU time). */
  pid: number
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS
}

/** Kernel clock ticks per second (USER_HZ); 100 on Linux everywhere that matters. */
const CLOCK_TICKS = 100

/** Spawns `target` and connects the SDK client over stdio; closed by disposeAll() unless closed first. */
export async function connectStdio(target: StdioTarget): Promise<Client> {
  return (await connectStdioWithPid(target)).client
}

export async function connectStdioWithPid(target: StdioTarget): Promise<StdioConnection> {
  const transport = new StdioClientTransport({
    command: target.command,
    args: target.args,
    env: env(target.env),
    stderr: 'pipe'
  })
  let stderr = ''
  transport.stderr?.on('data', (chunk: Buffer) => {
    if (process.env.BENCH_DEBUG != null) process.stderr.write(chunk)
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  const client = new Client({ name: 'mcp-mesh-bench', version: '1.0.0' })
  try {
    await client.connect(transport)
  } catch (err) {
    await client.close().catch(() => {})
    throw new Error(`${target.label} did not answer initialize: ${(err as Error).message}\n${stderr}`, { cause: err })
  }
  disposers.push(async () => client.close())
  return { client, pid: transport.pid! }
}

/** A free TCP port on 127.0.0.1 (closed again before use). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Starts a long-running process and waits until `ready(stderr)` says it is up. */
export async function startProcess(
  args: string[],
  ready: (stderr: string) => boolean,
  extraEnv: Record<string, string> = {}
): Promise<void> {
  const child = spawn(NODE, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env(extraEnv) })
  disposers.push(async () => {
    if (child.exitCode != null || child.signalCode != null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    await exited
  })
  child.stdout.resume()
  let stderr = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not become ready:\n${stderr}`)), 30_000)
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      if (ready(stderr)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${args.join(' ')} exited ${code}:\n${stderr}`))
    })
  })
}

/** An SDK client on Streamable HTTP; `token`: the endpoint's bearer token (mcp-mesh's `<home>/http.token`). */
export async function connectHttp(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'mcp-mesh-bench', version: '1.0.0' })
  const requestInit = token != null ? { headers: { Authorization: `Bearer ${token}` } } : undefined
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit }))
  disposers.push(async () => client.close())
  return client
}
