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
import { existsSync, realpathSync } from 'node:fs'
import module from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const MIN_MAJOR = 22
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const major = Number(process.versions.node.split('.')[0])

// AsyncLocalStorage (tracing's active span, `callerInput`) in V8's continuation data instead of
// promise hooks: the default from Node 24; Node 22 knows it as this option and prints no warning
// for it. Without it every promise the node makes runs the hooks, which costs an MCP call over
// stdio about 8 µs (bench/RESULTS.md, "Issue 12, fourth pass: stdio").
const FRAME_FLAG = '--experimental-async-context-frame'
const FRAME_DEFAULT_MAJOR = 24

// glibc's malloc raises its trim and mmap thresholds each time a large block is freed (V8's
// compiler zones while the node loads), after which it keeps the freed memory in the process for
// good: 7-8 MiB of an idle node's RSS (bench/RESULTS-scale.md, "Session 5"). Fixing the trim
// threshold at glibc's default (128 KiB) turns that adjustment off. Read by glibc when a process
// starts: the detached node inherits it from this process's environment, and a node run in this
// process gets it by the re-exec below. A GLIBC_TUNABLES already set is the user's and is kept.
const MALLOC_TUNABLES = 'glibc.malloc.trim_threshold=131072'
const tuneMalloc = process.platform === 'linux' && process.env.GLIBC_TUNABLES == null
if (tuneMalloc) process.env.GLIBC_TUNABLES = MALLOC_TUNABLES

/**
 * Whether this command runs a node in this process and should get FRAME_FLAG (and the malloc
 * tuning) by re-executing:
 * `daemon`, and `start` in the foreground (`--foreground`, MCP_MESH_FOREGROUND=1, a terminal).
 * A bridged `start` only relays stdio (the detached node it launches gets the flag from
 * src/cli/detach.ts), and `lifecycle.detach: false` in a config file is not read here.
 */
function runsNodeHere(command, args) {
  if (args.includes('--help') || args.includes('-h')) return false
  if (command === 'daemon') return true
  if (command !== 'start') return false
  return args.includes('--foreground') || process.env.MCP_MESH_FOREGROUND === '1' || process.stdin.isTTY === true
}

/**
 * A tool module's `import ... from 'zod'` (or 'zod/v4') loads the zod inside the bundle when it
 * would load this package's own copy (same version, same code): one zod in the process instead of
 * two, 2.8 MiB of heap with the bench's tool module. Another zod (the module's own dependency, a
 * different version) is left alone. module.registerHooks: Node >= 22.15; without it, two copies.
 */
function shareZod(bundleDir) {
  if (typeof module.registerHooks !== 'function') return
  let ownZod
  try {
    ownZod = pathToFileURL(realpathSync(join(root, 'node_modules', 'zod'))).href + '/'
  } catch {
    return
  }
  const shared = new Map([
    [ownZod + 'index.js', pathToFileURL(join(bundleDir, 'zod.js')).href],
    [ownZod + 'v4/index.js', pathToFileURL(join(bundleDir, 'zod-v4.js')).href]
  ])
  if (![...shared.values()].every((url) => existsSync(fileURLToPath(url)))) return
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context)
      const url = shared.get(resolved.url)
      return url == null ? resolved : { ...resolved, url, shortCircuit: true }
    }
  })
}

if (major >= MIN_MAJOR) {
  const args = process.argv.slice(2)
  const firstCommand = args.find((arg) => !arg.startsWith('-'))
  // process.execve (Node >= 22.15, not on Windows) replaces this process: same pid and stdio for
  // the MCP client, no second process, about 20 ms more to start (one more Node bootstrap).
  // A failed exec leaves the node running here without the flag.
  const wantsFlag =
    major < FRAME_DEFAULT_MAJOR &&
    !process.execArgv.includes(FRAME_FLAG) &&
    !(process.env.NODE_OPTIONS ?? '').includes(FRAME_FLAG) &&
    process.allowedNodeEnvironmentFlags.has(FRAME_FLAG)
  if ((wantsFlag || tuneMalloc) && typeof process.execve === 'function' && runsNodeHere(firstCommand, args)) {
    try {
      process.execve(
        process.execPath,
        [
          process.execPath,
          ...(wantsFlag ? [FRAME_FLAG] : []),
          ...process.execArgv,
          fileURLToPath(import.meta.url),
          ...args
        ],
        process.env
      )
    } catch {}
  }
  // The bundle (scripts/bundle.mjs, built by `npm run build`) holds the same code as dist/src in
  // a few minified chunks: about 13 MiB less heap per node. MCP_MESH_BUNDLE=0 runs dist/src (readable stack traces).
  const bundled = join(root, 'dist', 'bundle', 'cli', 'main.js')
  const unbundled = join(root, 'dist', 'src', 'cli', 'main.js')
  const entry = process.env.MCP_MESH_BUNDLE !== '0' && existsSync(bundled) ? bundled : unbundled
  if (entry === bundled) shareZod(join(root, 'dist', 'bundle', 'cli'))
  if (!existsSync(entry)) {
    process.stderr.write('mcp-mesh: not built yet; run `npm install` (or `npm run build`) in ' + root + '\n')
    process.exit(1)
  }
  // V8's code cache for our modules and our dependencies (Node >= 22.1): a
  // start otherwise compiles libp2p, the MCP SDK and zod from source (about a
  // tenth of the CPU a start spends before initialize). Warmed by `prepare`
  // (scripts/warm-compile-cache.mjs). MCP_MESH_COMPILE_CACHE=0 turns it off;
  // any other value is the directory to use. A directory that cannot be
  // written only leaves the cache off.
  // Unset, `daemon` runs without it, like the detached node `start` launches:
  // Node holds every cache entry it read for the life of the process (7-15 MiB
  // of RSS measured on an idle node), and a daemon starts once.
  const cacheSetting = process.env.MCP_MESH_COMPILE_CACHE
  const wanted = cacheSetting != null && cacheSetting !== '' ? cacheSetting !== '0' : firstCommand !== 'daemon'
  if (wanted && typeof module.enableCompileCache === 'function') {
    const { compileCacheDir } = await import('./compile-cache.js')
    try {
      module.enableCompileCache(cacheSetting != null && cacheSetting !== '' ? cacheSetting : compileCacheDir(root))
    } catch {}
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
  // --experimental-async-context-frame: AsyncLocalStorage without promise hooks (the default from
  // Node 24; the pinned node@22 knows it and prints no warning for it). A few µs less CPU per MCP
  // call: bench/RESULTS.md, "Issue 12, fourth pass". src/cli/detach.ts gives it to a detached node.
  const child = spawn(
    pinned,
    ['--experimental-async-context-frame', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      env: { ...process.env, MCP_MESH_REEXEC: '1' }
    }
  )
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      child.kill(signal)
    })
  }
  child.on('exit', (code, signal) => {
    process.exit(code ?? (signal != null ? 1 : 0))
  })
}
