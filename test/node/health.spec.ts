import { MemoryDatastore } from 'datastore-core'
import { describe, expect, it } from 'vitest'
import { type HealthSources, nodeHealth } from '../../src/node/health.js'

function sources(overrides: Partial<HealthSources> = {}): HealthSources {
  const libp2p = {
    status: 'started',
    getMultiaddrs: () => [],
    getConnections: () => [],
    services: { dht: { getMode: () => 'server' }, pubsub: { getTopics: () => ['t'] } }
  } as unknown as HealthSources['libp2p']
  return {
    libp2p,
    datastore: new MemoryDatastore(),
    registry: { validate: () => ({ total: 0, compliance: 100, tools: [] }), get: () => undefined } as never,
    servers: [],
    subsystems: [],
    mcp: '0 sessions',
    observability: 'metrics not served',
    ...overrides
  }
}

describe('nodeHealth', () => {
  it('is healthy when every check is', async () => {
    const health = await nodeHealth(sources(), AbortSignal.timeout(5_000))
    expect(health.healthy).toBe(true)
    expect(health.checks.map((check) => check.subsystem)).toEqual([
      'libp2p',
      'datastore',
      'dht',
      'pubsub',
      'mcp',
      'tools',
      'observability'
    ])
  })

  it('reports a datastore that cannot be written and a subsystem whose check throws, with their reasons', async () => {
    const datastore = new MemoryDatastore()
    datastore.put = async () => {
      throw new Error('disk full')
    }
    const broken = {
      name: 'queue',
      start: async () => {},
      stop: async () => {},
      health: async () => {
        throw new Error('journal closed')
      }
    }
    const health = await nodeHealth(sources({ datastore, subsystems: [broken] }), AbortSignal.timeout(5_000))
    expect(health.healthy).toBe(false)
    expect(health.checks.find((check) => check.subsystem === 'datastore')).toMatchObject({
      ok: false,
      detail: 'disk full'
    })
    expect(health.checks.find((check) => check.subsystem === 'queue')).toMatchObject({
      ok: false,
      detail: 'journal closed'
    })
  })
})
