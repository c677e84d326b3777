import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, platform, release } from 'node:os'
import type { HeapResults } from './heap.js'
import type { HttpEchoResults } from './http.js'
import type { InProcessResults } from './in-process.js'
import type { StartupResults } from './startup.js'
import type { StdioEchoResults } from './stdio.js'
import { fmt } from './stats.js'

export interface FoundationResults {
  date: string
  node: string
  /** 1-minute load average when the run started (other work on the machine skews every figure). */
  loadAverage: number
  durationS: number
  inProcess: InProcessResults
  heap: HeapResults
  startup: StartupResults
  stdio: StdioEchoResults
  http: HttpEchoResults
}

/** Everything below this line in RESULTS.md is hand-written and kept across runs. */
export const NOTES_MARKER = '<!-- notes: hand-written below, kept by bench/run -->'

const verdict = (ok: boolean): string => (ok ? 'met' : '**MISSED**')
const ms = (v: number): string => `${fmt(v, 3)} ms`

export function renderMarkdown(r: FoundationResults): string {
  const { inProcess: ip, heap, startup, stdio, http } = r
  const ratio1 = stdio.mesh.sequentialMs.p50 / stdio.reference.sequentialMs.p50
  const ratio64 = stdio.mesh.concurrent.latencyMs.p50 / stdio.reference.concurrent.latencyMs.p50
  const tput = stdio.mesh.concurrent.callsPerSecond / stdio.reference.concurrent.callsPerSecond
  const mb = (bytes: number): string => `${fmt(bytes / 1024 / 1024, 2)} MB`
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  const lines = [
    '# Foundation benchmarks',
    '',
    `Measured ${r.date} with Node ${r.node} on ${cpus().length} cores (${cpu}), ${platform()} ${release()};`,
    `the whole run took ${fmt(r.durationS, 0)} s; the 1-minute load average was ${fmt(r.loadAverage, 2)} when it started.`,
    'Regenerate with `npm run bench` (sizes: env vars below).',
    'Medians (p50) and p99; ratios compare figures measured in the same run.',
    '',
    '## Targets',
    '',
    '| what | p50 | p99 | target | verdict |',
    '|---|---|---|---|---|',
    `| router \`detect()\`, cached (${ip.tools} tools) | ${fmt(ip.detectCachedNs.p50, 1)} ns | ${fmt(ip.detectCachedNs.p99, 1)} ns ¹ | ≤ 1 µs | ${verdict(ip.detectCachedNs.p50 <= 1000)} |`,
    `| register() ${ip.tools} pre-defined tools | ${ms(ip.registerMs.p50)} | ${ms(ip.registerMs.p99)} | ≤ 20 ms | ${verdict(ip.registerMs.p50 <= 20)} |`,
    `| defineTool() + register() ${ip.tools} tools | ${ms(ip.defineAndRegisterMs.p50)} | ${ms(ip.defineAndRegisterMs.p99)} | ≤ 20 ms | ${verdict(ip.defineAndRegisterMs.p50 <= 20)} |`,
    `| heap of a ${heap.tools}-tool registry (its own cost: tools over shared zod schemas) | ${mb(heap.shared)} | | ≤ 2 MB | ${verdict(heap.shared <= 2 * 1024 * 1024)} |`,
    `| heap of ${heap.tools} tools each with its own zod schemas | ${mb(heap.ownSchemas)} | | ≤ 2 MB ³ | ${verdict(heap.ownSchemas <= 2 * 1024 * 1024)} |`,
    `| stdio \`echo\`, 1 in flight: ours / reference p50 | ${fmt(ratio1, 2)}× | | ≤ 1.15× | ${verdict(ratio1 <= 1.15)} |`,
    `| \`mcp-mesh start\` → initialize answered | ${ms(startup.meshMs.p50)} | ${ms(startup.meshMs.p99)} ² | ≤ 300 ms | ${verdict(startup.meshMs.p50 <= 300)} |`,
    '',
    '¹ p99 of the per-op means of 1,000-op batches. ² max of the spawns (p99 of so few runs is the max).',
    `³ the same registry plus zod's schema objects (two small \`z.object\`s per tool, about ${fmt((heap.ownSchemas - heap.shared) / heap.tools / 1024, 1)} KB): see the notes.`,
    '',
    '## MCP `echo`, same SDK client, same run',
    '',
    '| transport | load | mcp-mesh p50 | p99 | reference p50 | p99 | ours / reference | minimal v2 p50 | p99 | ours / minimal |',
    '|---|---|---|---|---|---|---|---|---|---|',
    `| stdio | 1 in flight, ${stdio.calls} calls | ${ms(stdio.mesh.sequentialMs.p50)} | ${ms(stdio.mesh.sequentialMs.p99)} | ${ms(stdio.reference.sequentialMs.p50)} | ${ms(stdio.reference.sequentialMs.p99)} | ${fmt(ratio1, 2)}× | ${ms(stdio.minimal.sequentialMs.p50)} | ${ms(stdio.minimal.sequentialMs.p99)} | ${fmt(stdio.mesh.sequentialMs.p50 / stdio.minimal.sequentialMs.p50, 2)}× |`,
    `| stdio | ${stdio.concurrency} in flight, ${stdio.concurrentCalls} calls | ${ms(stdio.mesh.concurrent.latencyMs.p50)} | ${ms(stdio.mesh.concurrent.latencyMs.p99)} | ${ms(stdio.reference.concurrent.latencyMs.p50)} | ${ms(stdio.reference.concurrent.latencyMs.p99)} | ${fmt(ratio64, 2)}× | ${ms(stdio.minimal.concurrent.latencyMs.p50)} | ${ms(stdio.minimal.concurrent.latencyMs.p99)} | ${fmt(stdio.mesh.concurrent.latencyMs.p50 / stdio.minimal.concurrent.latencyMs.p50, 2)}× |`,
    `| stdio throughput | ${stdio.concurrency} in flight | ${fmt(stdio.mesh.concurrent.callsPerSecond, 0)} calls/s | | ${fmt(stdio.reference.concurrent.callsPerSecond, 0)} calls/s | | ${fmt(tput, 2)}× | ${fmt(stdio.minimal.concurrent.callsPerSecond, 0)} calls/s | | ${fmt(stdio.mesh.concurrent.callsPerSecond / stdio.minimal.concurrent.callsPerSecond, 2)}× |`,
    `| Streamable HTTP | 1 in flight, ${http.calls} calls | ${ms(http.meshMs.p50)} | ${ms(http.meshMs.p99)} | ${ms(http.referenceMs.p50)} | ${ms(http.referenceMs.p99)} | ${fmt(http.meshMs.p50 / http.referenceMs.p50, 2)}× | | | |`,
    '',
    '',
    `Server CPU time (user + system, from /proc) per \`echo\`, 1 in flight, over ${stdio.cpuCalls} calls each: far less sensitive`,
    'than latency to other load on the machine, so it is the better guide to what each layer costs.',
    '',
    '| server | CPU per call | vs reference |',
    '|---|---|---|',
    ...(
      [
        ['mcp-mesh node (`mcp-mesh start`)', stdio.mesh],
        ['mcp-mesh front + router + echo only, no libp2p (`front-server.ts`)', stdio.front],
        ['minimal SDK v2 server (`minimal-server.ts`)', stdio.minimal],
        ['reference: server-everything (SDK 1.x)', stdio.reference]
      ] as const
    ).map(
      ([label, figures]) =>
        `| ${label} | ${fmt(figures.serverCpuUsPerCall, 1)} µs | ${fmt(figures.serverCpuUsPerCall / stdio.reference.serverCpuUsPerCall, 2)}× |`
    ),
    '',
    'Reference: `@modelcontextprotocol/server-everything` (SDK 1.x) `echo`, over stdio and `streamableHttp`.',
    'Minimal v2: `bench/foundation/minimal-server.ts`, one `echo` tool on `@modelcontextprotocol/server` (the SDK mcp-mesh uses).',
    'mcp-mesh: `mcp-mesh start` (stdio) and `mcp-mesh daemon --http PORT`, on 127.0.0.1 with mDNS off.',
    '',
    '## Other figures',
    '',
    '| what | p50 | p99 |',
    '|---|---|---|',
    `| router \`detect()\`, uncached (registered name, cache just invalidated) | ${fmt(ip.detectUncachedNs.p50, 0)} ns | ${fmt(ip.detectUncachedNs.p99, 0)} ns |`,
    `| registerAll() ${ip.tools} pre-defined tools | ${ms(ip.registerAllMs.p50)} | ${ms(ip.registerAllMs.p99)} |`,
    `| heap of ${heap.tools} tools proxied from an MCP server (JSON schemas, no zod) | ${mb(heap.proxied)} | |`,
    `| heap of ${heap.tools} own-schema tools after tools/list built their JSON schemas and listings | ${mb(heap.listed)} | |`,
    `| \`mcp-mesh start\` → first tools/list answered (node up) | ${ms(startup.meshToolsMs.p50)} | ${ms(startup.meshToolsMs.p99)} |`,
    `| reference server start → initialize answered | ${ms(startup.referenceMs.p50)} | ${ms(startup.referenceMs.p99)} |`,
    `| reference server start → first tools/list answered | ${ms(startup.referenceToolsMs.p50)} | ${ms(startup.referenceToolsMs.p99)} |`,
    '',
    '## Sizing',
    '',
    `BENCH_TOOLS=${ip.tools}, BENCH_CALLS=${stdio.calls}, BENCH_CONCURRENCY=${stdio.concurrency}, BENCH_CONCURRENT_CALLS=${stdio.concurrentCalls},`,
    `BENCH_CPU_CALLS=${stdio.cpuCalls}, BENCH_HTTP_CALLS=${http.calls}, BENCH_SPAWNS=${startup.spawns}, BENCH_HEAP_RUNS=${heap.runs}; also BENCH_WARMUP (5000), BENCH_ROUNDS (31),`,
    'BENCH_DETECT_BATCHES (2000). Heap: `--expose-gc` child, heapUsed after full GCs, before vs after building the registry',
    '(each tool with its own zod input and output schemas), median of the runs.',
    ''
  ]
  return lines.join('\n')
}

/** Writes RESULTS.md, keeping the hand-written notes below NOTES_MARKER. */
/** Writes the foundation figures, then `sections` (the other benches' markdown), then the kept notes. */
export function writeResults(path: string, r: FoundationResults, sections: readonly string[] = []): void {
  let notes = `${NOTES_MARKER}\n`
  if (existsSync(path)) {
    const previous = readFileSync(path, 'utf8')
    const at = previous.indexOf(NOTES_MARKER)
    if (at >= 0) notes = previous.slice(at)
  }
  writeFileSync(path, [renderMarkdown(r), ...sections, notes].join('\n'))
}
