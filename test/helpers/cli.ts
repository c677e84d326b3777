import { spawn } from 'node:child_process'
import { BIN_PATH, NODE_BIN, REPO_ROOT } from './paths.js'
import { trackPid, untrackPid } from './cleanup.js'

export interface CliResult {
  /** Exit code; null when the process was killed by a signal. */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunCliOptions {
  /** Extra environment; merged over the test process's environment. */
  env?: Record<string, string | undefined>
  /** Replace the environment entirely instead of merging. */
  replaceEnv?: boolean
  /** Written to stdin, which is then closed (stdin is closed at once when absent). */
  input?: string
  /** Kill the process after this long (default 30 s); the result then has `signal: 'SIGKILL'`. */
  timeoutMs?: number
  /** The Node that runs the bin (default: a Node >= 22, see NODE_BIN). */
  node?: string
  /** Script to run instead of the bin. */
  script?: string
  /** Run the bin itself as the program (its `#!/usr/bin/env node` picks the Node from PATH). */
  executable?: boolean
  cwd?: string
}

/**
 * Runs `mcp-mesh <args>` to completion and returns its exit code and output.
 *
 * @example
 * const { code, stdout } = await runCli(['id', '--home', home.dir])
 */
export async function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  const env = options.replaceEnv === true ? { ...options.env } : { ...process.env, ...options.env }
  for (const key of Object.keys(env)) if (env[key] == null) delete env[key]
  const [program, argv] =
    options.executable === true
      ? [BIN_PATH, [...args]]
      : [options.node ?? NODE_BIN, [options.script ?? BIN_PATH, ...args]]
  const child = spawn(program, argv, {
    cwd: options.cwd ?? REPO_ROOT,
    env: env as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe']
  })
  trackPid(child.pid)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  child.stdin.on('error', () => {})
  child.stdin.end(options.input ?? '')
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
  try {
    return await new Promise<CliResult>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
    })
  } finally {
    clearTimeout(timer)
    untrackPid(child.pid)
  }
}

/** Parses a command's JSON stdout, with the output in the error when it is not JSON. */
export function parseJson<T = unknown>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T
  } catch {
    throw new Error(`expected JSON on stdout (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`)
  }
}
