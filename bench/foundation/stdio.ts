import type { Client } from '@modelcontextprotocol/client'
import {
  connectStdioWithPid,
  cpuTimeMs,
  everythingTarget,
  frontTarget,
  makeHome,
  meshTarget,
  minimalTarget
} from './processes.js'
import { envInt, type Summary, summarize, timeConcurrent, timeSequential } from './stats.js'

export interface ThroughputSummary {
  latencyMs: Summary
  callsPerSecond: number
}

export interface EchoFigures {
  sequentialMs: Summary
  concurrent: ThroughputSummary
  /** Server CPU time (user + system) per call, 1 in flight, in µs: far less sensitive to scheduling noise. */
  serverCpuUsPerCall: number
}

export interface StdioEchoResults {
  calls: number
  cpuCalls: number
  concurrency: number
  concurrentCalls: number
  mesh: EchoFigures
  /** `@modelcontextprotocol/server-everything` (SDK 1.x): the reference of the targets. */
  reference: EchoFigures
  /** A minimal server on the SDK v2 that mcp-mesh uses. */
  minimal: EchoFigures
  /** Our MCP front and router alone, without the libp2p node. */
  front: EchoFigures
}

/** The targets in a different order each round, so drift on the machine hits all alike. */
function rotate<T>(items: T[], round: number): T[] {
  const shift = round % items.length
  const order = [...items.slice(shift), ...items.slice(0, shift)]
  return Math.floor(round / items.length) % 2 === 0 ? order : order.reverse()
}

const echo = (client: Client) => async (): Promise<unknown> =>
  client.callTool({ name: 'echo', arguments: { message: 'hello mesh' } })

/**
 * `echo` through our stdio endpoint vs the reference server's, with the same
 * SDK client in the same run, plus a minimal server on our SDK (v2) and our
 * MCP front without the node. Rounds rotate between the servers.
 */
export async function runStdioEcho(): Promise<StdioEchoResults> {
  const calls = envInt('BENCH_CALLS', 2000)
  // Steady state of a long-running endpoint (V8 has tiered up every server's hot path), as
  // stdio-variants measures it; the same warm-up for every server. 300 left ours partly unoptimised.
  const warmup = envInt('BENCH_WARMUP', 5000)
  const concurrency = envInt('BENCH_CONCURRENCY', 64)
  const concurrentCalls = envInt('BENCH_CONCURRENT_CALLS', 6400)
  const cpuCalls = envInt('BENCH_CPU_CALLS', 8000)
  const rounds = 8

  const connections = [
    await connectStdioWithPid(meshTarget(await makeHome())),
    await connectStdioWithPid(everythingTarget()),
    await connectStdioWithPid(minimalTarget()),
    await connectStdioWithPid(frontTarget())
  ]
  const targets = connections.map(({ client, pid }) => ({
    client,
    pid,
    cpuMs: 0,
    sequential: [] as number[],
    latencies: [] as number[],
    elapsed: 0
  }))
  for (const target of targets) await timeSequential(warmup, echo(target.client))
  for (const target of targets)
    await timeConcurrent(Math.min(warmup * 4, concurrentCalls), concurrency, echo(target.client))

  for (let round = 0; round < rounds; round++) {
    for (const target of rotate(targets, round)) {
      target.sequential.push(...(await timeSequential(Math.ceil(calls / rounds), echo(target.client))))
    }
  }
  for (let round = 0; round < rounds; round++) {
    for (const target of rotate(targets, round)) {
      const run = await timeConcurrent(Math.ceil(concurrentCalls / rounds), concurrency, echo(target.client))
      target.latencies.push(...run.latencies)
      target.elapsed += run.elapsedMs
    }
  }
  // CPU time comes from /proc in 10 ms ticks: measure it over long blocks of calls.
  const cpuRounds = 8
  const cpuPerRound = Math.ceil(cpuCalls / cpuRounds)
  for (let round = 0; round < cpuRounds; round++) {
    for (const target of rotate(targets, round)) {
      const cpuBefore = cpuTimeMs(target.pid)
      await timeSequential(cpuPerRound, echo(target.client))
      target.cpuMs += cpuTimeMs(target.pid) - cpuBefore
    }
  }
  const result = (t: (typeof targets)[number]): EchoFigures => ({
    serverCpuUsPerCall: (t.cpuMs * 1000) / (cpuRounds * cpuPerRound),
    sequentialMs: summarize(t.sequential),
    concurrent: { latencyMs: summarize(t.latencies), callsPerSecond: (t.latencies.length / t.elapsed) * 1000 }
  })
  return {
    calls,
    cpuCalls,
    concurrency,
    concurrentCalls,
    mesh: result(targets[0]!),
    reference: result(targets[1]!),
    minimal: result(targets[2]!),
    front: result(targets[3]!)
  }
}
