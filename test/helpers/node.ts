import type { ChildProcess } from 'node:child_process'
import type { Readable } from 'node:stream'
import { Client } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import type { CallToolResult } from '@modelcontextprotocol/server'
import type { MeshHealth, MeshStatus } from '../../src/tools/builtin/node-info.js'
import { assertNoUnhandledRejection, track, trackPid, untrackPid } from './cleanup.js'
import { BIN_PATH, LOOPBACK_ARGS, NODE_BIN, REPO_ROOT } from './paths.js'
import { withTimeout } from './wait.js'

export type { MeshHealth, MeshStatus }

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface SpawnNodeOptions {
  /** The node home (`--home`). */
  home: string
  /** Extra arguments after `start --home <home>` (and the loopback flags). */
  args?: readonly string[]
  /** Extra environment, merged over the test process's environment. */
  env?: Record<string, string | undefined>
  /**
   * Prepend `--no-mdns --listen /ip4/127.0.0.1/tcp/0` (default true). Turn it
   * off only to test flag handling itself; the home from createHome is
   * loopback-only anyway.
   */
  loopback?: boolean
  /** The subcommand (default `start`). */
  command?: string
  /** Client name sent in initialize. */
  clientName?: string
  /** Give up connecting (spawn + initialize) after this long (default 30 s). */
  connectTimeoutMs?: number
  /**
   * The program to run: a Node binary (the bin is its first argument), or the
   * bin itself when `executable` is set. Default: NODE_BIN.
   */
  node?: string
  /** Run the bin directly (its `#!/usr/bin/env node` line picks the Node from PATH). */
  executable?: boolean
}

export interface NodeProcess {
  readonly client: Client
  readonly transport: StdioClientTransport
  readonly pid: number
  readonly home: string
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitInfo>
  /** Everything the process wrote to stderr so far. */
  stderr(): string
  /** Calls a tool and returns its result, failing the test when it is an error result. */
  callOk(name: string, args?: Record<string, unknown>): Promise<CallToolResult>
  /** Structured output of `mesh_status`. */
  status(): Promise<MeshStatus>
  health(): Promise<MeshHealth>
  /** Ends stdin only (as an MCP client does when it goes away), without any signal; does not wait. */
  endStdin(): void
  /** `endStdin()`, then waits for the process to exit. */
  closeStdin(timeoutMs?: number): Promise<ExitInfo>
  /** Sends a signal and waits for the exit. */
  kill(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitInfo>
  /** Idempotent teardown: close the client, then SIGTERM / SIGKILL if the process is still there. */
  close(): Promise<void>
}

function baseEnv(extra: Record<string, string | undefined> | undefined): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries({ ...process.env, ...extra })) {
    if (value != null) env[key] = value
  }
  return env
}

/**
 * Spawns `mcp-mesh start --home <home>` and connects the real SDK `Client`
 * over stdio (the SDK's `StdioClientTransport`), as Claude Desktop would.
 * The process is killed by `cleanup()` (or `close()`).
 *
 * @example
 * const a = await spawnNode({ home: homeA.dir })
 * const { peerId, addresses } = await a.status()
 * const b = await spawnNode({ home: homeB.dir, args: ['--bootstrap', addresses[0]!] })
 */
export async function spawnNode(options: SpawnNodeOptions): Promise<NodeProcess> {
  const args = [
    ...(options.executable === true ? [] : [BIN_PATH]),
    options.command ?? 'start',
    '--home',
    options.home,
    ...(options.loopback === false ? [] : LOOPBACK_ARGS),
    ...(options.args ?? [])
  ]
  const transport = new StdioClientTransport({
    command: options.executable === true ? BIN_PATH : (options.node ?? NODE_BIN),
    args,
    // The node runs inside the spawned process (as tests that kill it expect); test/cli/detached.spec.ts
    // covers the detached node `start` launches by default.
    env: baseEnv({ MCP_MESH_FOREGROUND: '1', ...options.env }),
    cwd: REPO_ROOT,
    stderr: 'pipe'
  })
  let stderrText = ''
  ;(transport.stderr as Readable).setEncoding('utf8').on('data', (chunk: string) => {
    stderrText += chunk
  })
  const client = new Client({ name: options.clientName ?? 'mcp-mesh-test', version: '1.0.0' })

  // The SDK keeps its ChildProcess private; it is the only way to see the exit code.
  let child: ChildProcess | undefined
  const exited = new Promise<ExitInfo>((resolve) => {
    const original = transport.start.bind(transport)
    transport.start = async (): Promise<void> => {
      await original()
      child = (transport as unknown as { _process?: ChildProcess })._process
      if (child == null) throw new Error('StdioClientTransport no longer exposes _process; update test/helpers/node.ts')
      trackPid(child.pid)
      child.once('exit', (code, signal) => {
        untrackPid(child?.pid)
        resolve({ code, signal })
      })
    }
  })

  const kill = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<ExitInfo> => {
    if (child != null && child.exitCode == null && child.signalCode == null) child.kill(signal)
    return withTimeout(exited, timeoutMs, `node pid ${child?.pid} to exit after ${signal}`)
  }
  const close = track(`node on ${options.home}`, async () => {
    await withTimeout(client.close(), 10_000, 'client.close()').catch(() => {})
    if (child == null) return
    if (child.exitCode == null && child.signalCode == null) {
      await kill('SIGTERM', 10_000).catch(async () => kill('SIGKILL', 5_000))
    }
    assertNoUnhandledRejection(`node on ${options.home}`, stderrText)
  })

  try {
    await withTimeout(client.connect(transport), options.connectTimeoutMs ?? 30_000, 'node to answer initialize')
  } catch (err) {
    await close()
    throw new Error(
      `mcp-mesh ${options.command ?? 'start'} did not come up: ${(err as Error).message}\n${stderrText}`,
      {
        cause: err
      }
    )
  }

  const callOk = async (name: string, toolArgs: Record<string, unknown> = {}): Promise<CallToolResult> => {
    const result = (await client.callTool({ name, arguments: toolArgs })) as CallToolResult
    if (result.isError === true) throw new Error(`${name} returned an error: ${JSON.stringify(result.content)}`)
    return result
  }

  return {
    client,
    transport,
    pid: child!.pid!,
    home: options.home,
    exited,
    stderr: () => stderrText,
    callOk,
    status: async () => (await callOk('mesh_status')).structuredContent as unknown as MeshStatus,
    health: async () => (await callOk('mesh_health')).structuredContent as unknown as MeshHealth,
    endStdin: () => {
      child?.stdin?.end()
    },
    closeStdin: async (timeoutMs = 15_000) => {
      child?.stdin?.end()
      return withTimeout(exited, timeoutMs, `node pid ${child?.pid} to exit after stdin closed`)
    },
    kill,
    close
  }
}

/** First loopback TCP address (with /p2p/) a node reports, for `--bootstrap`. */
export function tcpAddress(status: MeshStatus): string {
  const address = status.addresses.find((a) => a.startsWith('/ip4/127.0.0.1/tcp/') && !a.includes('/ws'))
  if (address == null) throw new Error(`no loopback TCP address in ${JSON.stringify(status.addresses)}`)
  return address.includes('/p2p/') ? address : `${address}/p2p/${status.peerId}`
}
