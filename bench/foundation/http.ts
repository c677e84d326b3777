import { readFile } from 'node:fs/promises'
import type { Client } from '@modelcontextprotocol/client'
import { httpTokenPath } from '../../src/mcp/http-token.js'
import { BIN, EVERYTHING } from './paths.js'
import { connectHttp, freePort, LOOPBACK, makeHome, startProcess } from './processes.js'
import { envInt, type Summary, summarize, timeSequential } from './stats.js'

export interface HttpEchoResults {
  calls: number
  meshMs: Summary
  referenceMs: Summary
}

const echo = (client: Client) => async (): Promise<unknown> =>
  client.callTool({ name: 'echo', arguments: { message: 'hello mesh' } })

/** `echo` over MCP Streamable HTTP, 1 in flight: `mcp-mesh daemon --http` and the reference server. */
export async function runHttpEcho(): Promise<HttpEchoResults> {
  const calls = envInt('BENCH_HTTP_CALLS', 1000)
  const warmup = envInt('BENCH_WARMUP', 300)

  const meshPort = await freePort()
  const home = await makeHome()
  await startProcess([BIN, 'daemon', '--home', home, ...LOOPBACK, '--http', String(meshPort)], (s) =>
    s.includes('daemon running')
  )
  const refPort = await freePort()
  await startProcess([EVERYTHING, 'streamableHttp'], (s) => s.includes('listening on port'), { PORT: String(refPort) })

  // The node's HTTP endpoint takes its bearer token (created in the home when the endpoint starts).
  const token = (await readFile(httpTokenPath(home), 'utf8')).trim()
  const mesh = await connectHttp(`http://127.0.0.1:${meshPort}/mcp`, token)
  const reference = await connectHttp(`http://127.0.0.1:${refPort}/mcp`)
  await timeSequential(warmup, echo(mesh))
  await timeSequential(warmup, echo(reference))
  const meshSamples: number[] = []
  const refSamples: number[] = []
  for (let round = 0; round < 4; round++) {
    meshSamples.push(...(await timeSequential(Math.ceil(calls / 4), echo(mesh))))
    refSamples.push(...(await timeSequential(Math.ceil(calls / 4), echo(reference))))
  }
  return { calls, meshMs: summarize(meshSamples), referenceMs: summarize(refSamples) }
}
