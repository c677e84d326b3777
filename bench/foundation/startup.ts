import { connectStdio, everythingTarget, makeHome, meshTarget, type StdioTarget } from './processes.js'
import { envInt, type Summary, summarize } from './stats.js'

export interface StartupResults {
  spawns: number
  /** ms from spawning `mcp-mesh start` (existing home) to its initialize answer. */
  meshMs: Summary
  /** ms from spawning `mcp-mesh start` to its first tools/list answer (the node is up). */
  meshToolsMs: Summary
  /** The same two for the reference server. */
  referenceMs: Summary
  referenceToolsMs: Summary
}

async function timeStartup(target: StdioTarget): Promise<{ initialize: number; tools: number }> {
  const started = performance.now()
  const client = await connectStdio(target)
  const initialize = performance.now() - started
  await client.listTools()
  const tools = performance.now() - started
  // Closing ends stdin and waits for the process to exit, so runs do not overlap.
  await client.close()
  return { initialize, tools }
}

/** Process start to MCP initialize answered (and to tools/list answered), alternating ours and the reference. */
export async function runStartup(): Promise<StartupResults> {
  const spawns = envInt('BENCH_SPAWNS', 10)
  const home = await makeHome()
  const mesh: Array<{ initialize: number; tools: number }> = []
  const reference: Array<{ initialize: number; tools: number }> = []
  // One unmeasured start each: warms the OS file cache and creates the datastore.
  await timeStartup(meshTarget(home))
  await timeStartup(everythingTarget())
  for (let i = 0; i < spawns; i++) {
    mesh.push(await timeStartup(meshTarget(home)))
    reference.push(await timeStartup(everythingTarget()))
  }
  return {
    spawns,
    meshMs: summarize(mesh.map((m) => m.initialize)),
    meshToolsMs: summarize(mesh.map((m) => m.tools)),
    referenceMs: summarize(reference.map((m) => m.initialize)),
    referenceToolsMs: summarize(reference.map((m) => m.tools))
  }
}
