import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { NODE } from './paths.js'
import { envInt } from './stats.js'

export interface HeapSample {
  tools: number
  /** Registry of defineTool tools over shared zod schemas: the registry's own cost. */
  shared: number
  /** Each tool with its own zod schemas. */
  ownSchemas: number
  /** Tools imported from an MCP server (JSON schemas only). */
  proxied: number
  /** `ownSchemas` after tools/list built every JSON schema and listing. */
  listed: number
}

export interface HeapResults extends HeapSample {
  runs: number
}

async function once(): Promise<HeapSample> {
  const script = fileURLToPath(new URL('./heap-child.js', import.meta.url))
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, ['--expose-gc', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
    })
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`heap child exited ${code}`))
      else resolve(JSON.parse(out) as HeapSample)
    })
  })
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

/** Runs the heap measurement in fresh `--expose-gc` children and takes the median of each figure. */
export async function runHeap(): Promise<HeapResults> {
  const runs = envInt('BENCH_HEAP_RUNS', 3)
  const samples: HeapSample[] = []
  for (let i = 0; i < runs; i++) samples.push(await once())
  const pick = (key: keyof Omit<HeapSample, 'tools'>): number => median(samples.map((s) => s[key]))
  return {
    tools: samples[0]!.tools,
    runs,
    shared: pick('shared'),
    ownSchemas: pick('ownSchemas'),
    proxied: pick('proxied'),
    listed: pick('listed')
  }
}
