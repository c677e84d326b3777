import type { Tool as McpTool } from '@modelcontextprotocol/server'
import { TypedEventEmitter } from 'main-event'
import { describe, expect, it } from 'vitest'
import type { AdvertTool } from '../../src/mesh/advert.js'
import type { Catalog, CatalogEvents, CatalogPeer } from '../../src/mesh/catalog.js'
import { MeshSurface, peerAlias } from '../../src/mesh/surface.js'

class FakeCatalog extends TypedEventEmitter<CatalogEvents> {
  list: CatalogPeer[] = []
  peers(): CatalogPeer[] {
    return this.list
  }
  changed(): void {
    this.safeDispatchEvent('change', { detail: { peer: 'x', reason: 'advert' } })
  }
}

const PEER_1 = '12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAone1'
const PEER_2 = '12D3KooWBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBtwo2'

function offer(peerId: string, tools: Array<{ name: string; hash: string }>): CatalogPeer {
  return {
    peerId,
    seq: 1,
    lastSeen: Date.now(),
    source: 'gossip',
    capacity: { maxConcurrency: 4 },
    load: { inFlight: 0, queued: 0 },
    tools: new Map(
      tools.map(({ name, hash }) => {
        const advert: AdvertTool = {
          name,
          schemaHash: hash.repeat(64).slice(0, 64),
          tags: [],
          category: 'x',
          priority: 5,
          timeoutMs: 1000
        }
        const descriptor: McpTool = { name, description: `${name} tool`, inputSchema: { type: 'object' } }
        return [name, { advert, descriptor }]
      })
    )
  }
}

function surface(catalog: FakeCatalog, localHashes: Record<string, string> = {}): MeshSurface {
  return new MeshSurface(catalog as unknown as Catalog, (name) => localHashes[name]?.repeat(64).slice(0, 64))
}

describe('MeshSurface naming rule', () => {
  it('lists a tool offered with one schema under its plain name, saying where it runs', () => {
    const catalog = new FakeCatalog()
    catalog.list = [offer(PEER_1, [{ name: 'grep', hash: 'a' }]), offer(PEER_2, [{ name: 'grep', hash: 'a' }])]
    const listed = surface(catalog).list(new Set())
    expect(listed.map((t) => t.name)).toEqual(['grep'])
    expect(listed[0]!.description).toContain('runs on one of 2 mesh peers')
  })

  it('aliases each version when peers offer one name with different schemas', () => {
    const catalog = new FakeCatalog()
    catalog.list = [offer(PEER_1, [{ name: 'grep', hash: 'a' }]), offer(PEER_2, [{ name: 'grep', hash: 'b' }])]
    const s = surface(catalog)
    const names = s
      .list(new Set())
      .map((t) => t.name)
      .sort()
    expect(names).toEqual([`${peerAlias(PEER_1)}.grep`, `${peerAlias(PEER_2)}.grep`].sort())
    expect(s.resolve(`${peerAlias(PEER_2)}.grep`)).toMatchObject({ remoteName: 'grep', providers: [PEER_2] })
  })

  it('hides peers offering a local tool with the same schema but still resolves them for mesh routing', () => {
    const catalog = new FakeCatalog()
    catalog.list = [offer(PEER_1, [{ name: 'echo', hash: 'a' }]), offer(PEER_2, [{ name: 'echo', hash: 'c' }])]
    const s = surface(catalog, { echo: 'a' })
    expect(s.list(new Set(['echo'])).map((t) => t.name)).toEqual([`${peerAlias(PEER_2)}.echo`])
    expect(s.resolve('echo')).toMatchObject({ providers: [PEER_1] })
  })

  it('rebuilds when the catalog changes', () => {
    const catalog = new FakeCatalog()
    const s = surface(catalog)
    expect(s.list(new Set())).toEqual([])
    catalog.list = [offer(PEER_1, [{ name: 'late', hash: 'a' }])]
    catalog.changed()
    expect(s.list(new Set()).map((t) => t.name)).toEqual(['late'])
  })
})
