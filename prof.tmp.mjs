import { Client } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { mkdtempSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
const home = mkdtempSync('/tmp/prof-home-') + '/h'
execFileSync(process.execPath, ['bin/mcp-mesh.js', 'init', '--home', home])
const which = process.argv[2] ?? 'mesh'
const target = which === 'front' ? { command: process.execPath, args: ['dist/front-only.tmp.mjs'] } : which === 'min' ? { command: process.execPath, args: ['dist/bench/foundation/minimal-server.js'] } : which === 'ref'
  ? { command: process.execPath, args: ['node_modules/@modelcontextprotocol/server-everything/dist/index.js', 'stdio'] }
  : { command: process.execPath, args: ['bin/mcp-mesh.js', 'start', '--home', home, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'] }
const env = { ...process.env }
if (process.env.PROF) env.NODE_OPTIONS = '--cpu-prof --cpu-prof-dir=/tmp/prof'
const t = new StdioClientTransport({ ...target, env, stderr: 'ignore' })
const c = new Client({ name: 'p', version: '1' })
await c.connect(t)
const N = Number(process.env.N ?? 5000)
for (let i = 0; i < 500; i++) await c.callTool({ name: 'echo', arguments: { message: 'hello mesh' } })
const lat = []
for (let i = 0; i < N; i++) { const t0 = performance.now(); await c.callTool({ name: 'echo', arguments: { message: 'hello mesh' } }); lat.push(performance.now() - t0) }
lat.sort((a, b) => a - b)
console.log(which, 'p50', lat[N >> 1].toFixed(3), 'mean', (lat.reduce((a, b) => a + b) / N).toFixed(3))
await c.close()
