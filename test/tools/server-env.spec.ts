import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { serverEnvironment } from '../../src/tools/server-transport.js'
import { cleanup, createHome, FIXTURES_DIR, NODE_BIN, resultText, spawnNode } from '../helpers/index.js'

afterAll(cleanup)

const ENV_SERVER = join(FIXTURES_DIR, 'servers', 'env-server.mjs')

describe('environment of proxied MCP servers', () => {
  it('is the SDK’s safe default set plus the entry’s env, not the node’s whole environment', () => {
    const previous = process.env.MESH_TEST_NODE_SECRET
    process.env.MESH_TEST_NODE_SECRET = 'node secret'
    try {
      const env = serverEnvironment({ env: { MESH_TEST_ENTRY: 'entry value', PATH: '/entry/bin' } })
      expect(env.MESH_TEST_NODE_SECRET).toBeUndefined()
      expect(env.MESH_TEST_ENTRY).toBe('entry value')
      // The entry wins over the defaults it overlaps.
      expect(env.PATH).toBe('/entry/bin')
      expect(serverEnvironment({ env: {} }).PATH).toBe(process.env.PATH)
    } finally {
      if (previous == null) delete process.env.MESH_TEST_NODE_SECRET
      else process.env.MESH_TEST_NODE_SECRET = previous
    }
  })

  it('a server run by a real node sees its entry’s variables and not the node’s others', async () => {
    const home = await createHome({
      config: {
        servers: { envprobe: { command: NODE_BIN, args: [ENV_SERVER], env: { MESH_TEST_ENTRY: 'from the entry' } } }
      }
    })
    const node = await spawnNode({
      home: home.dir,
      env: { MESH_TEST_NODE_SECRET: 'the node’s secret', MESH_TEST_ENTRY: 'the node’s value' }
    })
    const result = await node.callOk('envprobe.read_env', {
      names: ['MESH_TEST_NODE_SECRET', 'MESH_TEST_ENTRY', 'PATH']
    })
    const values = JSON.parse(resultText(result)) as Record<string, string | null>
    expect(values.MESH_TEST_NODE_SECRET).toBeNull()
    expect(values.MESH_TEST_ENTRY).toBe('from the entry')
    expect(values.PATH).toBe(process.env.PATH)
  })
})
