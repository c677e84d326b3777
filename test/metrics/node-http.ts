import { readFile } from 'node:fs/promises'
import { type NodeProcess, waitFor } from '../helpers/index.js'

export interface NodeHttp {
  /** `http://127.0.0.1:PORT` of the node's HTTP endpoint. */
  origin: string
  token: string
  /** GET with the bearer token. */
  get(path: string): Promise<Response>
}

/** The HTTP endpoint of a node started with `--http 0`: its origin (from the stderr notice) and token. */
export async function nodeHttp(node: NodeProcess): Promise<NodeHttp> {
  const line = await waitFor(() => /http (http:\/\/127\.0\.0\.1:\d+)\/mcp /.exec(node.stderr()), {
    message: 'the http notice on stderr'
  })
  const origin = line[1]!
  const token = (await readFile(`${node.home}/http.token`, 'utf8')).trim()
  return {
    origin,
    token,
    get: async (path) => fetch(`${origin}${path}`, { headers: { authorization: `Bearer ${token}` } })
  }
}

/** A raw GET with any headers (fetch would replace `Host`). */
export async function rawGet(url: string, headers: Record<string, string>): Promise<number> {
  const { request } = await import('node:http')
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

// Values as Go's ParseFloat reads them (Prometheus's parser): NaN and Inf in any case (prom-client writes `Nan`).
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|[Nn][Aa][Nn]|[+-]?[Ii][Nn][Ff])(?: -?\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/**
 * Parses the Prometheus text exposition format strictly: every line is a
 * comment (`# HELP` / `# TYPE`), blank, or a sample; anything else throws.
 */
export function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('# HELP ')) continue
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ')
      types.set(name!, type!)
      continue
    }
    const match = SAMPLE.exec(line)
    if (match == null) throw new Error(`not a Prometheus sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = value!
    const raw = match[3]!.toLowerCase()
    const value =
      raw === 'nan' ? Number.NaN : raw.endsWith('inf') ? (raw.startsWith('-') ? -Infinity : Infinity) : Number(raw)
    samples.push({ name: match[1]!, labels, value })
  }
  return { samples, types }
}

/** The samples of `name` whose labels include `labels`. */
export function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value)
  )
}

export function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return find(samples, name, labels).reduce((sum, sample) => sum + sample.value, 0)
}
