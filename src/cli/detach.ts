import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { open, rename, stat } from 'node:fs/promises'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NODE_LOG_FILE, NODE_LOG_MAX_BYTES } from '../config/defaults.js'
import type { ConfigFlags } from '../config/load.js'
import { errorMessage } from '../util/errors.js'
import { openApiSocket } from './api-client.js'
import { NodeNotRunningError } from './errors.js'

/** The environment variable naming the `start` whose repo lock a detached node takes over. */
export const LOCK_FROM_ENV = 'MCP_MESH_LOCK_FROM'
/** Exit code of a detached node that found the home held by another live node. */
export const EXIT_HOME_BUSY = 3

export interface DetachedNode {
  pid: number
  logFile: string
  /** Resolves with the exit code (null: killed) if the node exits while this process runs. */
  exited: Promise<number | null>
  /** What the node wrote to its log since it was launched (its start-up notices). */
  newLog(): Promise<string>
}

/**
 * Node options of the detached node. `--experimental-async-context-frame`
 * (Node 22; the default from Node 24) keeps AsyncLocalStorage (tracing's
 * active span, `callerInput`) in V8's continuation data instead of promise
 * hooks: no init/before/after hook per promise, a few µs less CPU per MCP
 * call (bench/RESULTS.md, "Issue 12, fourth pass"). Node 22 accepts it
 * without a warning, so the node's log stays clean. Given only where the
 * running Node knows the option.
 */
export function detachedNodeOptions(): string[] {
  const flag = '--experimental-async-context-frame'
  return process.allowedNodeEnvironmentFlags.has(flag) ? [flag] : []
}

/** `daemon` arguments that reproduce `start`'s flags. */
export function daemonArgs(home: string, configFile: string | undefined, flags: ConfigFlags): string[] {
  const args = ['daemon', '--detached-for-home', '--home', home]
  if (configFile != null) args.push('--config', configFile)
  if (flags.listen != null && flags.listen.length > 0) args.push('--listen', ...flags.listen)
  if (flags.bootstrap != null && flags.bootstrap.length > 0) args.push('--bootstrap', ...flags.bootstrap)
  if (flags.mdns === false) args.push('--no-mdns')
  if (flags.httpPort != null) args.push('--http', String(flags.httpPort))
  if (flags.meshName != null) args.push('--mesh', flags.meshName)
  if (flags.relay === true) args.push('--relay')
  return args
}

/**
 * Launches the home's node as its own process (a new session, stdio to
 * `<home>/node.log`), so it outlives this client. This process must hold the
 * repo lock: the node takes it over (see acquireRepoLock's takeOverFrom).
 */
export async function launchDetachedNode(
  home: string,
  configFile: string | undefined,
  flags: ConfigFlags
): Promise<DetachedNode> {
  const logFile = join(home, NODE_LOG_FILE)
  const size = await stat(logFile).then(
    (s) => s.size,
    () => 0
  )
  let offset = size
  if (size > NODE_LOG_MAX_BYTES) {
    await rename(logFile, `${logFile}.1`).catch(() => {})
    offset = 0
  }
  const fd = openSync(logFile, 'a', 0o600)
  const main = fileURLToPath(new URL('./main.js', import.meta.url))
  const child = spawn(process.execPath, [...detachedNodeOptions(), main, ...daemonArgs(home, configFile, flags)], {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, [LOCK_FROM_ENV]: String(process.pid) }
  })
  closeSync(fd)
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code))
    child.once('error', () => resolve(1))
  })
  child.unref()
  const newLog = async (): Promise<string> => {
    const handle = await open(logFile, 'r').catch(() => undefined)
    if (handle == null) return ''
    try {
      const { size: end } = await handle.stat()
      const length = Math.max(0, Math.min(end - offset, 64 * 1024))
      const buffer = Buffer.alloc(length)
      await handle.read(buffer, 0, length, offset)
      offset += length
      return buffer.toString('utf8')
    } finally {
      await handle.close()
    }
  }
  return { pid: child.pid ?? 0, logFile, exited, newLog }
}

/**
 * Opens the node's API socket, retrying while it is not there yet (the node
 * is starting), until `deadline`, or until `gaveUp` resolves (the node died).
 */
export async function waitForApiSocket(
  home: string,
  deadline: number,
  gaveUp?: Promise<unknown>
): Promise<Socket | { error: string }> {
  let stop = false
  void gaveUp?.then(() => {
    stop = true
  })
  let delay = 10
  for (;;) {
    try {
      return await openApiSocket(home)
    } catch (err) {
      if (!(err instanceof NodeNotRunningError)) return { error: errorMessage(err) }
      if (stop) return { error: 'the node exited before its API socket was up' }
      if (Date.now() > deadline) return { error: 'its API socket did not appear in time' }
    }
    await new Promise((resolve) => setTimeout(resolve, delay))
    delay = Math.min(delay * 2, 50)
  }
}

/** Copies a detached node's start-up notices to this client's stderr. */
export function relayLog(text: string): void {
  const lines = text.split('\n').filter((line) => line.trim() !== '')
  for (const line of lines)
    process.stderr.write(line.startsWith('mcp-mesh:') ? `${line}\n` : `mcp-mesh: node: ${line}\n`)
}
