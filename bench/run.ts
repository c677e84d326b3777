/**
 * `npm run bench`: the foundation benchmarks (router, registry, heap, MCP
 * stdio and HTTP echo against the reference server, start-up time), all in
 * one run, sized by BENCH_* environment variables. Prints the results as
 * JSON on stdout and writes bench/RESULTS.md.
 */
import { loadavg } from 'node:os'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { runHeap } from './foundation/heap.js'
import { runHttpEcho } from './foundation/http.js'
import { runInProcess } from './foundation/in-process.js'
import { ROOT } from './foundation/paths.js'
import { disposeAll } from './foundation/processes.js'
import { type FoundationResults, writeResults } from './foundation/report.js'
import { runStartup } from './foundation/startup.js'
import { runStdioEcho } from './foundation/stdio.js'

/**
 * The other issues' benches, each in its own process (they start meshes of
 * their own) and each writing bench/RESULTS-<name>.md, which is folded into
 * RESULTS.md. BENCH_SECTIONS (comma-separated) picks a subset.
 */
const SECTIONS: ReadonlyArray<{ name: string; script: string; optIn?: boolean }> = [
  { name: 'mesh', script: 'mesh/main.js' },
  // The speed targets: interleaved rounds against the floor (writes RESULTS-speed.md).
  { name: 'speed', script: 'mesh/speed.js' },
  { name: 'queue', script: 'queue/main.js' },
  // The queue's speed target: interleaved rounds against BullMQ (writes RESULTS-queue-rounds.md).
  { name: 'queue-rounds', script: 'queue/rounds.js' },
  { name: 'workflow', script: 'workflow.js' },
  // A 25-node mesh takes minutes to form on 2 cores: opt in with BENCH_SECTIONS=...,discovery.
  { name: 'discovery', script: 'discovery.js', optIn: true }
]

async function runSections(): Promise<string[]> {
  const wanted = process.env.BENCH_SECTIONS?.split(',').map((s) => s.trim())
  const out: string[] = []
  for (const section of SECTIONS) {
    if (wanted != null ? !wanted.includes(section.name) : section.optIn === true) continue
    step(`${section.name} (child process)`)
    const file = join(ROOT, 'bench', `RESULTS-${section.name}.md`)
    rmSync(file, { force: true })
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'dist', 'bench', section.script)], {
        stdio: ['ignore', 'ignore', 'inherit']
      })
      child.once('exit', resolve)
    })
    if (code === 0 && existsSync(file)) {
      out.push(readFileSync(file, 'utf8'))
      rmSync(file, { force: true })
    } else {
      out.push(`## ${section.name}\n\nNot measured in this run: the bench exited with code ${code}.\n`)
    }
  }
  return out
}

function step(name: string): void {
  process.stderr.write(`bench: ${name}\n`)
}

async function main(): Promise<void> {
  const started = performance.now()
  const loadAverage = loadavg()[0] ?? 0
  step('router and registry (in process)')
  const inProcess = runInProcess()
  step('heap of a registry (--expose-gc child)')
  const heap = await runHeap()
  step('start -> initialize')
  const startup = await runStartup()
  await disposeAll()
  step('stdio echo vs reference')
  const stdio = await runStdioEcho()
  await disposeAll()
  step('Streamable HTTP echo vs reference')
  const http = await runHttpEcho()
  await disposeAll()
  const results: FoundationResults = {
    date: new Date().toISOString(),
    node: process.versions.node,
    loadAverage,
    durationS: (performance.now() - started) / 1000,
    inProcess,
    heap,
    startup,
    stdio,
    http
  }
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
  const sections = await runSections()
  if (process.env.BENCH_NO_WRITE == null) {
    writeResults(join(ROOT, 'bench', 'RESULTS.md'), results, sections)
    step('wrote bench/RESULTS.md')
  }
}

process.on('SIGINT', () => {
  void disposeAll().then(() => process.exit(130))
})

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`)
    await disposeAll()
    process.exit(1)
  }
)
