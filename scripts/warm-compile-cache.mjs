// Fills V8's code cache for the modules `mcp-mesh start` loads before it
// answers `initialize` (Node's module compile cache, node >= 22.1), so that
// the first start after `npm install` is as fast as later ones. Runs from
// `prepare`, after the build. It only imports modules (no node is started, no
// network), and it never fails the install: a cache is an optimisation.
import module from 'node:module'
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { compileCacheDir } = await import(join(root, 'bin', 'compile-cache.js'))

// The start path: the CLI's commands, the config, the MCP front (the bridge
// answers initialize with it), and the node and its services (the detached
// node loads them when it starts).
// With the bundle (scripts/bundle.mjs), which the launcher runs: every chunk
// but main.js, whose import would run the CLI.
const bundle = join(root, 'dist', 'bundle', 'cli')
const chunks = existsSync(bundle)
  ? readdirSync(bundle)
      .filter((name) => name.endsWith('.js') && name !== 'main.js')
      .map((name) => join('dist', 'bundle', 'cli', name))
  : []
const entries = [
  ...chunks,
  'dist/src/cli/commands/start.js',
  'dist/src/cli/bridge.js',
  'dist/src/cli/detach.js',
  'dist/src/config/load.js',
  'dist/src/mcp/front.js',
  'dist/src/node/mesh-node.js'
]

try {
  if (typeof module.enableCompileCache !== 'function') process.exit(0)
  const { status } = module.enableCompileCache(compileCacheDir(root))
  if (status !== module.constants.compileCacheStatus.ENABLED) process.exit(0)
  for (const entry of entries) {
    const file = join(root, entry)
    if (existsSync(file)) await import(file)
  }
  module.flushCompileCache?.()
} catch (err) {
  process.stderr.write(`mcp-mesh: compile cache not warmed (${err instanceof Error ? err.message : String(err)})\n`)
}
process.exit(0)
