/**
 * `npm run bench`: the foundation benchmarks (router, registry, heap, MCP
 * stdio and HTTP echo against the reference server, start-up time), all in
 * one run, sized by BENCH_* environment variables. Prints the results as
 * JSON on stdout and writes bench/RESULTS.md.
 */
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { runHeap } from './foundation/heap.js'
import { runHttpEcho } from './foundation/http.js'
import { runInProcess } from './foundation/in-process.js'
import { ROOT } from './foundation/paths.js'
import { disposeAll } from './foundation/processes.js'
import { type FoundationResults, writeResults } from './foundation/report.js'
import { runStartup } from './foundation/startup.js'
import { runStdioEcho } from './foundation/stdio.js'

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
  if (process.env.BENCH_NO_WRITE == null) {
    writeResults(join(ROOT, 'bench', 'RESULTS.md'), results)
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
