// Bundles the CLI (dist/src/cli/main.js, compiled by tsc) and what it imports
// into dist/bundle/cli/: one minified ES module per chunk instead of about
// 1,000 files. Runs from `npm run build`, after tsc. bin/mcp-mesh.js runs the
// bundle when it exists (MCP_MESH_BUNDLE=0: dist/src, e.g. for readable stack
// traces).
//
// Why: V8 keeps every loaded module's source text (for lazy compilation) and
// a record per module for the life of the process. An idle node loading ~1,000
// files held 35.6 MiB of heap after a forced GC; the bundle holds 22.7 MiB
// (bench/RESULTS-scale.md, "Session 5"). Measured step by step: bundled
// 29.6 MiB (fewer, larger modules), minified 24.8 MiB, ASCII-only output 22.7
// MiB (`charset: 'ascii'`: a chunk holding one character beyond Latin-1 is
// stored as a two-byte string, twice its size).
//
// What stays outside the bundle, loaded from node_modules at run time:
// - Node's built-ins and classic-level (native code found by its path);
// - UPnP's SSDP client, which reads its own package.json by a relative path
//   (UPnP itself, mDNS and pnet are bundled: lazy chunks, loaded only when
//   turned on, sharing libp2p's copies of multiaddr, peer ids and crypto);
// - prom-client and libp2p's Prometheus plugin (loaded only when something can
//   read the metrics; one prom-client for both).
// zod and the MCP SDK are bundled: zod shares its registry through globalThis
// and the SDK's error classes check a brand, not the class object, so schemas
// and errors from a user's tool module (its own copies) work the same.
// `keepNames` keeps functions' and classes' `name` (error names, logs).
import { rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'rolldown'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = join(root, 'dist', 'bundle', 'cli')

/** Loaded from node_modules at run time (see above). */
const EXTERNAL = [
  /^node:/,
  /^classic-level(\/|$)/,
  /^@achingbrain\/ssdp(\/|$)/,
  /^@libp2p\/prometheus-metrics(\/|$)/,
  /^prom-client(\/|$)/
]

rmSync(outDir, { recursive: true, force: true })
await build({
  // zod.js and zod-v4.js: zod's own entry points, sharing the chunks that hold the zod the node
  // uses. The launcher resolves a tool module's `zod` / `zod/v4` (when it would load this
  // package's copy) to them, so a node with tool modules holds one zod, not two (2.8 MiB).
  input: { main: join(root, 'dist', 'src', 'cli', 'main.js'), zod: 'zod', 'zod-v4': 'zod/v4' },
  platform: 'node',
  external: EXTERNAL,
  logLevel: 'warn',
  output: {
    dir: outDir,
    format: 'esm',
    // The launcher imports main.js; src/cli/detach.ts starts `./main.js` next to the chunk that holds it.
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
    minify: true,
    keepNames: true,
    charset: 'ascii'
  }
})
