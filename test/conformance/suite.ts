import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { NODE_BIN, REPO_ROOT, track, trackPid, untrackPid, withTimeout } from '../helpers/index.js'

/** The MCP conformance suite 0.2.0-alpha.12, installed as a devDependency alias. */
export const SUITE_2026 = join(REPO_ROOT, 'node_modules', 'conformance-2026', 'dist', 'index.js')
/** The MCP conformance suite 0.1.16 (spec 2025-11-25), installed as a devDependency alias. */
export const SUITE_2025 = join(REPO_ROOT, 'node_modules', 'conformance-2025', 'dist', 'index.js')
export const FIXTURE_SERVER = join(REPO_ROOT, 'test', 'fixtures', 'conformance-server.mjs')

export interface SuiteRun {
  /** Scenario name → passed (every check passed or only warned). */
  scenarios: Map<string, boolean>
  /** Scenarios the suite ran but does not score for the requirement set (extensions, pending). */
  unscored: Set<string>
  output: string
}

/** A free TCP port on 127.0.0.1. */
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

export interface SuiteOptions {
  /** The suite's entry (default SUITE_2026). */
  suite?: string
  /** Arguments after `--url` (default `--requirements 2026-07-28`). */
  args?: readonly string[]
}

/**
 * Runs `conformance server --url <url> --requirements 2026-07-28` (or the
 * given suite and arguments) with Node 22 first on PATH and reads its
 * summary: one line per scenario (`✓ name: …` or `✗ name: …`), then the list
 * of scenarios it does not score.
 */
export async function runSuite(url: string, timeoutMs: number, options: SuiteOptions = {}): Promise<SuiteRun> {
  const suite = options.suite ?? SUITE_2026
  const args = options.args ?? ['--requirements', '2026-07-28']
  const child = spawn(NODE_BIN, [suite, 'server', '--url', url, ...args], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PATH: `${dirname(NODE_BIN)}:${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  trackPid(child.pid)
  track('conformance suite', async () => {
    if (child.exitCode == null && child.signalCode == null) child.kill('SIGKILL')
  })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  await withTimeout(
    new Promise<void>((resolve) => child.once('exit', () => resolve())),
    timeoutMs,
    'the conformance suite to finish'
  )
  untrackPid(child.pid)
  const summary = output.slice(output.indexOf('=== SUMMARY ==='))
  const scenarios = new Map<string, boolean>()
  for (const match of summary.matchAll(/^([✓✗]) ([a-z0-9-]+): /gmu)) scenarios.set(match[2]!, match[1] === '✓')
  const unscoredPart = summary.slice(summary.indexOf('Not scored'))
  const unscored = new Set([...unscoredPart.matchAll(/^ {2}[✓✗] ([a-z0-9-]+) \(/gmu)].map((match) => match[1]!))
  return { scenarios, unscored, output }
}

/** The scored scenarios that failed. */
export function scoredFailures(run: SuiteRun): string[] {
  return [...run.scenarios].filter(([name, passed]) => !passed && !run.unscored.has(name)).map(([name]) => name)
}

/** Starts the fixture server on Streamable HTTP (`--http 0`) and resolves with its `/mcp` URL. */
export async function startHttpFixture(env: Record<string, string> = {}): Promise<string> {
  const child = spawn(NODE_BIN, [FIXTURE_SERVER, '--http', '0'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  trackPid(child.pid)
  track('http fixture', async () => {
    if (child.exitCode == null && child.signalCode == null) child.kill('SIGKILL')
  })
  let stderr = ''
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk
        const match = /listening (\d+)/u.exec(stderr)
        if (match != null) resolve(Number(match[1]))
      })
      child.once('exit', () => reject(new Error(`the fixture exited: ${stderr}`)))
    }),
    15_000,
    'the HTTP fixture to listen'
  )
  return `http://127.0.0.1:${port}/mcp`
}

/** Runs one scenario of the 0.1.16 suite `times` times in a row; resolves with how many passed. */
export async function repeatScenario(url: string, scenario: string, times: number): Promise<number> {
  let passed = 0
  for (let i = 0; i < times; i++) {
    const run = await runSuite(url, 60_000, { suite: SUITE_2025, args: ['--scenario', scenario] })
    if (/Passed: (\d+)\/\1, 0 failed/u.test(run.output)) passed++
  }
  return passed
}
