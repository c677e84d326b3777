#!/usr/bin/env node
// Launcher for the mcp-mesh CLI.
//
// MCP clients (Claude Desktop, IDEs) start this file by absolute path, so
// `#!/usr/bin/env node` finds whatever Node is first on their PATH, which may be
// older than the Node 22 that libp2p 3 needs (Promise.withResolvers). When the
// running Node is too old we re-execute this same file with the Node 22 pinned
// as a devDependency, passing stdio straight through so MCP over stdio works.
// This file must therefore stay plain JavaScript that parses on old Nodes.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const MIN_MAJOR = 22
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const major = Number(process.versions.node.split('.')[0])

if (major >= MIN_MAJOR) {
  const entry = join(root, 'dist', 'src', 'cli', 'main.js')
  if (!existsSync(entry)) {
    process.stderr.write('mcp-mesh: not built yet; run `npm install` (or `npm run build`) in ' + root + '\n')
    process.exit(1)
  }
  await import(entry)
} else {
  const candidates = [join(root, 'node_modules', 'node', 'bin', 'node'), join(root, 'node_modules', '.bin', 'node')]
  const pinned = candidates.find((p) => existsSync(p))
  if (pinned == null || process.env.MCP_MESH_REEXEC === '1') {
    process.stderr.write(
      'mcp-mesh: Node ' +
        process.versions.node +
        ' is too old (need >= ' +
        MIN_MAJOR +
        ') and the pinned node@22 ' +
        'was not found under ' +
        join(root, 'node_modules') +
        '; run `npm install` in ' +
        root +
        '\n'
    )
    process.exit(1)
  }
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, MCP_MESH_REEXEC: '1' }
  })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      child.kill(signal)
    })
  }
  child.on('exit', (code, signal) => {
    process.exit(code ?? (signal != null ? 1 : 0))
  })
}
