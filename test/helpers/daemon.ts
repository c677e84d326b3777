import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/client'
import { StreamClientTransport } from '../../src/mcp/stream-transport.js'
import { assertNoUnhandledRejection, track, trackPid, untrackPid } from './cleanup.js'
import type { ExitInfo } from './node.js'
import { BIN_PATH, LOOPBACK_ARGS, NODE_BIN, REPO_ROOT } from './paths.js'
import { waitFor, withTimeout } from './wait.js'

export interface StartDaemonOptions {
  home: string
  args?: readonly string[]
  env?: Record<string, string | undefined>
  /** Prepend the loopback flags (default true). */
  loopback?: boolean
  /** Wait this long for the API socket (default 30 s). */
  readyTimeoutMs?: number
}

export interface DaemonProcess {
  readonly pid: number
  readonly home: string
  /** `<home>/api.sock` */
  readonly apiPath: string
  readonly exited: Promise<ExitInfo>
  stderr(): string
  /** Sends a signal (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitInfo>
}

/** Resolves true when something accepts connections on the Unix socket `path`. */
export async function socketAccepts(path: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(path)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * Spawns `mcp-mesh daemon --home <home>` (no stdio MCP) and waits until its
 * local API socket accepts connections. Killed by `cleanup()`.
 *
 * @example
 * const daemon = await startDaemon({ home: home.dir })
 * const { stdout } = await runCli(['status', '--home', home.dir])
 */
export async function startDaemon(options: StartDaemonOptions): Promise<DaemonProcess> {
  const child = spawn(
    NODE_BIN,
    [
      BIN_PATH,
      'daemon',
      '--home',
      options.home,
      ...(options.loopback === false ? [] : LOOPBACK_ARGS),
      ...(options.args ?? [])
    ],
    { cwd: REPO_ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] }
  )
  trackPid(child.pid)
  let stderrText = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderrText += chunk
  })
  child.stdout.resume()
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      untrackPid(child.pid)
      resolve({ code, signal })
    })
  })
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<ExitInfo> => {
    if (child.exitCode == null && child.signalCode == null) child.kill(signal)
    return withTimeout(exited, timeoutMs, `daemon pid ${child.pid} to exit after ${signal}`)
  }
  track(`daemon on ${options.home}`, async () => {
    await stop('SIGTERM', 10_000).catch(async () => stop('SIGKILL', 5_000))
    assertNoUnhandledRejection(`daemon on ${options.home}`, stderrText)
  })
  const apiPath = join(options.home, 'api.sock')
  // Ready when the socket accepts; fail at once (not at the deadline) if the daemon exits first.
  const polling = new AbortController()
  const ready = waitFor(async () => socketAccepts(apiPath), {
    timeoutMs: options.readyTimeoutMs ?? 30_000,
    message: `${apiPath} to accept connections`,
    signal: polling.signal
  })
  const died = exited.then((info): never => {
    throw new Error(`daemon exited (${info.code ?? info.signal}) before its API was up:\n${stderrText}`)
  })
  try {
    await Promise.race([ready, died])
  } catch (err) {
    throw new Error(`mcp-mesh daemon on ${options.home} did not come up: ${(err as Error).message}\n${stderrText}`, {
      cause: err
    })
  } finally {
    polling.abort()
    died.catch(() => {})
    ready.catch(() => {})
  }
  return { pid: child.pid!, home: options.home, apiPath, exited, stderr: () => stderrText, stop }
}

/**
 * An SDK Client on a running node's local API socket (what `mcp-mesh call`
 * uses). Closed by `cleanup()`.
 */
export async function connectApi(home: string): Promise<Client> {
  const socket = connect(join(home, 'api.sock'))
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const client = new Client({ name: 'mcp-mesh-test-api', version: '1.0.0' })
  await client.connect(new StreamClientTransport(socket, socket))
  track(`api client on ${home}`, async () => client.close().catch(() => {}))
  return client
}
