import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, waitFor } from '../helpers/index.js'
import { Attacker, advertTool, toolDescriptor } from './attacker.js'
import { call, link, startNode, type TestNode } from './nodes.js'

/**
 * Catalog adverts replayed with an old timestamp. Gossipsub's StrictSign
 * means a peer can only publish adverts signed as itself; what it can do is
 * send an advert whose `seq` is new but whose `ts` is long past (a stale
 * advert, as a replay of recorded data would be). The honest node is read
 * only through its MCP tools (peer_list, mesh_status).
 */

afterEach(cleanup)

const HOUR_MS = 3_600_000

async function toolsOf(node: TestNode, peer: string): Promise<string[] | undefined> {
  const { peers } = await call<{ peers: Array<{ peerId: string; tools: string[] }> }>(node.node, 'peer_list', {
    withTools: true
  })
  return peers.find((p) => p.peerId === peer)?.tools
}

/** Adverts the node has processed from gossip (accepted, rejected or ignored). */
async function advertsSeen(node: TestNode): Promise<number> {
  const status = (await node.node.status()) as unknown as {
    subsystems: { mesh: { catalog: { advertsReceived: number; advertsRejected: number; advertsIgnored: number } } }
  }
  const c = status.subsystems.mesh.catalog
  return c.advertsReceived + c.advertsRejected + c.advertsIgnored
}

describe('catalog gossip from a hostile peer', () => {
  it('stale adverts: an advert with a timestamp an hour old is not accepted into the catalog', {
    timeout: 60_000
  }, async () => {
    const honest = await startNode('honest')
    const attacker = await Attacker.create({
      tools: [toolDescriptor('fresh_tool'), toolDescriptor('stale_tool')]
    })
    await link(attacker, honest)

    // Control: a current advert is accepted and its tool listed.
    await attacker.advertise({ tools: [advertTool('fresh_tool')] })
    await waitFor(async () => (await toolsOf(honest, attacker.peerId))?.includes('fresh_tool'), {
      timeoutMs: 10_000,
      message: 'fresh_tool listed from a current advert'
    })
    const seen = await advertsSeen(honest)

    // Attack: a newer seq, a timestamp an hour old, and a tool only it lists.
    await attacker.advertise({ ts: Date.now() - HOUR_MS, tools: [advertTool('fresh_tool'), advertTool('stale_tool')] })
    await waitFor(async () => (await advertsSeen(honest)) > seen, {
      timeoutMs: 10_000,
      message: 'the honest node to process the stale advert'
    })
    expect(await toolsOf(honest, attacker.peerId), 'the stale advert was accepted').not.toContain('stale_tool')
  })
})
