/**
 * Mesh-call benchmarks (issue 3), all in one run on loopback:
 *  - remote tool call: MCP stdio on A -> /mcp+p2p -> executed on B -> back;
 *  - the floor: a bare js-libp2p request/response on one reused stream
 *    between two processes (raw-echo-peer.ts);
 *  - the alternative: the same tool on B over MCP Streamable HTTP;
 *  - throughput with 64 calls in flight through A;
 *  - time from a new provider being ready to its tool being callable on A.
 * Sized by BENCH_MESH_CALLS (default 2000) and BENCH_JOIN_RUNS (default 5).
 * Every path is first warmed with BENCH_MESH_WARMUP calls (default 3000): the
 * steady state of long-running processes. With the 200 this bench used
 * before, V8 had not tiered up the nodes' hot paths yet and the remote p50
 * read 0.95 ms against 0.47 ms warm (same machine, same minute).
 */
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import type { Client } from '@modelcontextprotocol/client'
import { createLibp2p } from 'libp2p'
import { httpTokenPath } from '../../src/mcp/http-token.js'
import { configure, tcpAddressOf } from '../configure.js'
import { NODE, ROOT } from '../foundation/paths.js'
import { connectHttp, connectStdio, freePort, makeHome, meshTarget } from '../foundation/processes.js'
import { envInt, fmt, type Summary, summarize, timeConcurrent, timeSequential } from '../foundation/stats.js'
import { RAW_ECHO_PROTOCOL } from './constants.js'

const TOOLS = join(ROOT, 'bench', 'fixtures', 'bench-tools.mjs')

export interface MeshCallResults {
  calls: number
  remote: Summary
  local: Summary
  rawLibp2p: Summary
  http: Summary
  throughput64: number
  joinToCallable: Summary
}

/** A node on a fresh home, its stdio client, and the home (its HTTP endpoint's bearer token is there). */
async function startNode(
  patch: Record<string, unknown>,
  args: string[] = [],
  env: Record<string, string> = {}
): Promise<{ client: Client; home: string }> {
  const home = await makeHome()
  await configure(home, { catalog: { advertIntervalMs: 1000, peerTtlMs: 5000 }, ...patch })
  const target = meshTarget(home)
  target.args.push(...args)
  target.env = env
  return { client: await connectStdio(target), home }
}

async function addressOf(client: Client): Promise<string> {
  const status = (await client.callTool({ name: 'mesh_status', arguments: {} })).structuredContent as {
    addresses: string[]
  }
  return tcpAddressOf(status)
}

/** Polls A's own tool list (what a user sees) until `name` is there. */
async function waitForTool(client: Client, name: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if ((await client.listTools()).tools.some((tool) => tool.name === name)) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`${name} never appeared`)
}

async function rawLibp2p(n: number, warmup: number): Promise<number[]> {
  const child = spawn(NODE, [join(ROOT, 'dist', 'bench', 'mesh', 'raw-echo-peer.js')], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  try {
    const address = await new Promise<string>((resolve) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()))
    })
    const node = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    try {
      const lp = lpStream(await node.dialProtocol(multiaddr(address), RAW_ECHO_PROTOCOL))
      // The same bytes a tools/call of the echo tool puts on the wire.
      const payload = new TextEncoder().encode(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'remote_echo', arguments: { message: 'hello' } }
        })
      )
      const roundTrip = async (): Promise<void> => {
        await lp.write(payload)
        await lp.read()
      }
      await timeSequential(warmup, roundTrip)
      return await timeSequential(n, roundTrip)
    } finally {
      await node.stop()
    }
  } finally {
    child.kill('SIGTERM')
  }
}

export async function runMeshCalls(): Promise<MeshCallResults> {
  const calls = envInt('BENCH_MESH_CALLS', 2000)
  const joinRuns = envInt('BENCH_JOIN_RUNS', 5)
  const warmup = envInt('BENCH_MESH_WARMUP', 3000)
  const httpPort = await freePort()
  const { client: b, home: homeB } = await startNode({ tools: [TOOLS] }, ['--http', String(httpPort)])
  const bootstrap = await addressOf(b)
  const { client: a } = await startNode({}, ['--bootstrap', bootstrap])
  await waitForTool(a, 'remote_echo')

  const call = (client: Client, name: string) => async (i: number) =>
    client.callTool({ name, arguments: { message: `m${i}` } })
  await timeSequential(warmup, call(a, 'remote_echo'))
  const remote = summarize(await timeSequential(calls, call(a, 'remote_echo')))
  await timeSequential(warmup, call(a, 'echo'))
  const local = summarize(await timeSequential(calls, call(a, 'echo')))
  const rawLibp2pSamples = summarize(await rawLibp2p(calls, warmup))
  const token = (await readFile(httpTokenPath(homeB), 'utf8')).trim()
  const http = await connectHttp(`http://127.0.0.1:${httpPort}/mcp`, token)
  await timeSequential(warmup, call(http, 'remote_echo'))
  const overHttp = summarize(await timeSequential(Math.min(calls, 1000), call(http, 'remote_echo')))
  await timeConcurrent(640, 64, call(a, 'remote_echo'))
  const concurrent = await timeConcurrent(calls * 3, 64, call(a, 'remote_echo'))

  const joins: number[] = []
  for (let run = 0; run < joinRuns; run++) {
    const tool = `late_${run}`
    const { client: provider } = await startNode({ tools: [TOOLS] }, ['--bootstrap', bootstrap], {
      BENCH_TOOL_NAME: tool
    })
    const ready = performance.now()
    await waitForTool(a, tool)
    await a.callTool({ name: tool, arguments: { message: 'x' } })
    joins.push(performance.now() - ready)
    await provider.close()
  }
  return {
    calls,
    remote,
    local,
    rawLibp2p: rawLibp2pSamples,
    http: overHttp,
    throughput64: concurrent.callsPerSecond,
    joinToCallable: summarize(joins)
  }
}

export function renderMeshCalls(r: MeshCallResults): string {
  const row = (name: string, s: Summary): string => `| ${name} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${s.n} |`
  const verdict = (ok: boolean): string => (ok ? 'met' : '**MISSED**')
  return `## Mesh tool calls (issue 3)

Two nodes on loopback; A is driven by the SDK client over stdio; B offers \`remote_echo\`.

| path | p50 ms | p99 ms | calls |
|---|---|---|---|
${row('remote tool: MCP stdio -> A -> /mcp+p2p -> B -> back', r.remote)}
${row('local `echo` on A over MCP stdio (same client)', r.local)}
${row('floor: bare js-libp2p request/response, one reused stream, 2 processes', r.rawLibp2p)}
${row('alternative: the same tool on B over MCP Streamable HTTP', r.http)}

| figure | value | goal | verdict |
|---|---|---|---|
| remote p50 | ${fmt(r.remote.p50)} ms | <= 0.8 ms | ${verdict(r.remote.p50 <= 0.8)} |
| remote p50 / bare libp2p p50 | ${fmt(r.remote.p50 / r.rawLibp2p.p50, 2)}x | - | - |
| remote p50 / Streamable HTTP p50 | ${fmt(r.remote.p50 / r.http.p50, 2)}x | <= 0.5x | ${verdict(r.remote.p50 / r.http.p50 <= 0.5)} |
| mesh hop cost (remote p50 - local p50) | ${fmt(r.remote.p50 - r.local.p50)} ms | - | - |
| throughput, 64 in flight through A | ${Math.round(r.throughput64)} calls/s | >= 8,000 | ${verdict(r.throughput64 >= 8000)} |
| new provider ready -> its tool callable on A (median of ${r.joinToCallable.n}) | ${fmt(r.joinToCallable.p50, 0)} ms | <= 1,000 ms | ${verdict(r.joinToCallable.p50 <= 1000)} |
`
}
