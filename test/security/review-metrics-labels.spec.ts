/**
 * Red-team review: the node's metrics and spans must not keep what a peer
 * chooses. A raw peer that is denied every call (it names tools that do not
 * exist) sends huge and many distinct tool names; none of them may become a
 * Prometheus label value (memory held for the node's lifetime, series the
 * scraper must store), and they must not take the label slots of the node's
 * real tools. Control: a real exported tool called by the same peer keeps
 * its own label.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERROR_CODE_DENIED } from '../../src/mesh/constants.js'
import { cleanup, createHome, FIXTURES_DIR, type NodeProcess, spawnNode, tcpAddress } from '../helpers/index.js'
import { find, type NodeHttp, nodeHttp, parsePrometheus } from '../metrics/node-http.js'
import { call, rawPeer, session, type Watched } from './mesh-raw-peer.js'

const PROVIDER = join(FIXTURES_DIR, 'mesh-provider.mjs')
/** MAX_TOOL_LABELS in src/metrics/constants.ts. */
const LABEL_SLOTS = 512

let node: NodeProcess
let http: NodeHttp
let peer: Watched

beforeAll(async () => {
  node = await spawnNode({
    home: (await createHome({ config: { tools: [PROVIDER] } })).dir,
    args: ['--http', '0'],
    env: { MESH_TEST_NAME: 'target' }
  })
  http = await nodeHttp(node)
  peer = await session(await rawPeer(), tcpAddress(await node.status()))
}, 60_000)

afterAll(cleanup)

async function operationToolLabels(): Promise<string[]> {
  const text = await (await http.get('/metrics')).text()
  return find(parsePrometheus(text).samples, 'mcp_server_operation_duration_seconds_count', { caller: 'peer' }).map(
    (sample) => sample.labels.gen_ai_tool_name ?? ''
  )
}

describe('tool names a peer sends', () => {
  it('do not become label values when the call is denied (huge names, and more names than label slots)', async () => {
    const huge = 'x'.repeat(512 * 1024)
    for (let id = 10; id < 14; id++) {
      const denied = await call(peer, id, `${huge}${id}`, {})
      expect(denied.error).toMatchObject({ code: ERROR_CODE_DENIED })
    }
    // Many distinct short names, sent at once: more than the label slots.
    const ids = Array.from({ length: LABEL_SLOTS + 8 }, (_, i) => 100 + i)
    for (const id of ids) peer.send({ id, method: 'tools/call', params: { name: `junk_${id}`, arguments: {} } })
    for (const id of ids) expect((await peer.response(id)).error).toMatchObject({ code: ERROR_CODE_DENIED })

    // Control: a real exported tool still gets its own label.
    const ok = await call(peer, 2, 'remote_double', { n: 2 })
    expect(ok.result).toMatchObject({ structuredContent: { doubled: 4 } })

    const labels = await operationToolLabels()
    expect(labels).toContain('remote_double')
    expect(Math.max(...labels.map((label) => label.length))).toBeLessThanOrEqual(128)
    expect(labels.filter((label) => label.startsWith('junk_') || label.startsWith('xxx'))).toEqual([])
  }, 60_000)
})
