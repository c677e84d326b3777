import { afterAll, describe, expect, it } from 'vitest'
import { cleanup, createHome, NODE_BIN, spawnNode, tcpAddress, waitFor } from '../helpers/index.js'
import { FIXTURE_SERVER, freePort, runSuite, scoredFailures } from './suite.js'

/**
 * The MCP conformance suite's 2026-07-28 requirement set against a real node
 * process whose HTTP endpoint shares the fixture server (which speaks only
 * the 2025 revisions): every request of the suite is translated by the node.
 *
 * One scored scenario cannot apply to a translated older server:
 * input-required-result-basic-elicitation requires the key of the embedded
 * request to be "user_name", a name a 2026-07-28 server chooses itself. A
 * 2025 server asks with a bare `elicitation/create` request that carries no
 * key, so the node has to name it (`elicitation-1`); everything else of that
 * round trip is checked by the other input-required scenarios.
 */
const NOT_APPLICABLE_TO_TRANSLATED_SERVERS = ['input-required-result-basic-elicitation']

afterAll(cleanup)

describe('MCP conformance 0.2.0-alpha.12, requirements 2026-07-28', () => {
  it('a node sharing a 2025 fixture server passes every scored server scenario but the one that cannot apply', async () => {
    const port = await freePort()
    const home = await createHome({
      config: {
        // The suite cannot send a bearer token: a loopback test node without one.
        mcp: { httpPort: port, httpAuth: false },
        servers: { conformance: { command: NODE_BIN, args: [FIXTURE_SERVER], prefix: '' } }
      }
    })
    const node = await spawnNode({ home: home.dir })
    await waitFor(async () => (await node.client.listTools()).tools.some((tool) => tool.name === 'test_simple_text'), {
      timeoutMs: 30_000,
      message: 'the fixture server to be shared'
    })
    const run = await runSuite(`http://127.0.0.1:${port}/mcp`, 240_000)
    expect(run.scenarios.size, run.output.slice(-4000)).toBeGreaterThanOrEqual(37)
    expect(scoredFailures(run), run.output.slice(-6000)).toEqual(NOT_APPLICABLE_TO_TRANSLATED_SERVERS)
    expect(node.stderr()).toContain('mcp.httpAuth: false')
  }, 300_000)

  it('a second node reaching the fixture through the mesh passes the same scenarios', async () => {
    // A shares the fixture with its peers (export: true); B has no server of its own and
    // serves the suite from A over /mcp+p2p: tools, prompts, resources and input rounds.
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
      message: `A's fixture prompts to be listed on B (B: ${b.stderr().slice(-1500)})`
    })
    const run = await runSuite(`http://127.0.0.1:${port}/mcp`, 240_000)
    expect(run.scenarios.size, run.output.slice(-4000)).toBeGreaterThanOrEqual(37)
    expect(scoredFailures(run), run.output.slice(-6000)).toEqual(NOT_APPLICABLE_TO_TRANSLATED_SERVERS)
  }, 300_000)
})
