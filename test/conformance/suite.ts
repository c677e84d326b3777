import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { NODE_BIN, REPO_ROOT, track, trackPid, untrackPid, withTimeout } from '../helpers/index.js'

/** The MCP conformance suite 0.2.0-alpha.12, installed as a devDependency alias. */
export const SUITE_2026 = join(REPO_ROOT, 'node_modules', 'conformance-2026', 'dist', 'index.js')
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

/**
 * Runs `conformance server --url <url> --requirements 2026-07-28` with Node
 * 22 first on PATH and reads its summary: one line per scenario
 * (`✓ name: …` or `✗ name: …`), then the list of scenarios it does not score.
 */
export async function runSuite(url: string, timeoutMs: number): Promise<SuiteRun> {
  const child = spawn(NODE_BIN, [SUITE_2026, 'server', '--url', url, '--requirements', '2026-07-28'], {
    cwd: REPO_ROOT,
    env: { ...process.env, PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` },
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
