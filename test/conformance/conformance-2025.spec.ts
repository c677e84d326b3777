import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cleanup, createHome, NODE_BIN, spawnNode, tcpAddress, waitFor } from '../helpers/index.js'
import {
  FIXTURE_SERVER,
  freePort,
  repeatScenario,
  runSuite,
  SUITE_2025,
  type SuiteRun,
  scoredFailures,
  startHttpFixture
} from './suite.js'

/**
 * The official MCP conformance suite 0.1.16 (spec 2025-11-25), every server
 * scenario, in three set-ups: the fixture server itself (over Streamable
 * HTTP), node A sharing it (config `servers`, prefix "", export: true), and
 * node B reaching it through the mesh. A shared server works as well through
 * the mesh as on its own machine: the same scenarios pass in all three.
 */
const PROGRESS_RUNS = 20

afterAll(cleanup)

async function suite(url: string, label: string): Promise<SuiteRun> {
  const run = await runSuite(url, 240_000, { suite: SUITE_2025, args: [] })
  // CONFORMANCE_OUT=<dir> keeps each set-up's full suite output (for the report's scores).
  if (process.env.CONFORMANCE_OUT != null)
    await writeFile(join(process.env.CONFORMANCE_OUT, `0.1.16-${label}.txt`), run.output)
  return run
}

describe('MCP conformance 0.1.16 (spec 2025-11-25)', () => {
  it('the fixture server on its own passes every scenario', async () => {
    const run = await suite(await startHttpFixture(), 'direct')
    expect(run.scenarios.size, run.output.slice(-4000)).toBeGreaterThanOrEqual(30)
    expect(scoredFailures(run), run.output.slice(-6000)).toEqual([])
  }, 300_000)

  it('node A sharing the fixture passes every scenario, and progress passes every time', async () => {
    const port = await freePort()
    const home = await createHome({
      config: {
        mcp: { httpPort: port, httpAuth: false },
        servers: { conformance: { command: NODE_BIN, args: [FIXTURE_SERVER], prefix: '', export: true } }
      }
    })
    const node = await spawnNode({ home: home.dir })
    await waitFor(async () => (await node.client.listTools()).tools.some((tool) => tool.name === 'test_simple_text'), {
      timeoutMs: 30_000,
      message: 'the fixture server to be shared'
    })
    const url = `http://127.0.0.1:${port}/mcp`
    const run = await suite(url, 'node-a')
    expect(run.scenarios.size, run.output.slice(-4000)).toBeGreaterThanOrEqual(30)
    expect(scoredFailures(run), run.output.slice(-6000)).toEqual([])
    expect(await repeatScenario(url, 'tools-call-with-progress', PROGRESS_RUNS)).toBe(PROGRESS_RUNS)
  }, 420_000)

  it('node B reaching the fixture through the mesh passes every scenario, and progress passes every time', async () => {
    const a = await spawnNode({
      home: (
        await createHome({
          config: {
            servers: { conformance: { command: NODE_BIN, args: [FIXTURE_SERVER], prefix: '', export: true } }
          }
        })
      ).dir
    })
    const port = await freePort()
    const b = await spawnNode({
      home: (await createHome({ config: { mcp: { httpPort: port, httpAuth: false } } })).dir,
      args: ['--bootstrap', tcpAddress(await a.status())]
    })
    await waitFor(async () => (await b.client.listTools()).tools.some((tool) => tool.name === 'test_simple_text'), {
      timeoutMs: 30_000,
      message: "A's fixture tools to reach B's catalog"
    })
    await waitFor(async () => (await b.client.listPrompts()).prompts.some((p) => p.name === 'test_simple_prompt'), {
      timeoutMs: 15_000,
      message: "A's fixture prompts to be listed on B"
    })
    const url = `http://127.0.0.1:${port}/mcp`
    const run = await suite(url, 'node-b')
    expect(run.scenarios.size, run.output.slice(-4000)).toBeGreaterThanOrEqual(30)
    expect(scoredFailures(run), run.output.slice(-6000)).toEqual([])
    expect(await repeatScenario(url, 'tools-call-with-progress', PROGRESS_RUNS)).toBe(PROGRESS_RUNS)
  }, 420_000)
})
