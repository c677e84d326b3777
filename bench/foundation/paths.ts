import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
}

/** The repository root (works from bench/ sources and from dist/bench/). */
export const ROOT: string = findRoot()
export const BIN: string = join(ROOT, 'bin', 'mcp-mesh.js')
/** Node >= 22: `npm run bench` runs on the pinned node@22. */
export const NODE: string = process.execPath
export const EVERYTHING: string = join(
  ROOT,
  'node_modules',
  '@modelcontextprotocol',
  'server-everything',
  'dist',
  'index.js'
)
