import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (this file lives in `test/helpers/`). */
export const REPO_ROOT: string = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The published launcher; it runs `dist/src/cli/main.js`, so `npm run build` must have run. */
export const BIN_PATH: string = join(REPO_ROOT, 'bin', 'mcp-mesh.js')

/** The built CLI entry the launcher imports. */
export const DIST_MAIN: string = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js')

/**
 * A Node >= 22 to run the bin with: the one running the tests when it is new
 * enough (vitest under `npm test` runs on the pinned node@22), else the pinned
 * devDependency under node_modules.
 */
export const NODE_BIN: string = (() => {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath
  const pinned = join(REPO_ROOT, 'node_modules', 'node', 'bin', 'node')
  return existsSync(pinned) ? pinned : join(REPO_ROOT, 'node_modules', '.bin', 'node')
})()

/** Entry of the reference MCP server (`@modelcontextprotocol/server-everything`); `stdio` is its default transport. */
export const EVERYTHING_SERVER: string = join(
  REPO_ROOT,
  'node_modules',
  '@modelcontextprotocol',
  'server-everything',
  'dist',
  'index.js'
)

/** Fixtures (tool modules and the like) shipped with the tests. */
export const FIXTURES_DIR: string = join(REPO_ROOT, 'test', 'fixtures')

/** Every node a test starts stays on loopback with mDNS off (see the team guide). */
export const LOOPBACK_ARGS: readonly string[] = ['--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0']
