import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, waitFor, rawPeer } from '../helpers/index.js'
import { DEFAULT_MESH, memberProtocol } from './attacker.js'
import { startNode } from './nodes.js'

afterEach(cleanup)

/** A bare peer that announces our mesh's member protocol in identify (a claim anyone can make). */
async function claimingPeer(): Promise<Libp2p> {
  const node = await rawPeer({ listen: true })
  await node.handle(memberProtocol(DEFAULT_MESH), (stream) => {
    void stream.close().catch(() => {})
  })
  return node
}

async function stored(target: Awaited<ReturnType<typeof startNode>>): Promise<number> {
  const status = (await target.node.status()) as unknown as {
    subsystems: { discovery: { knownPeers: { stored: number }; connections: { members: number } } }
  }
  return status.subsystems.discovery.knownPeers.stored
}

async function members(target: Awaited<ReturnType<typeof startNode>>): Promise<number> {
  const status = (await target.node.status()) as unknown as {
    subsystems: { discovery: { connections: { members: number } } }
  }
  return status.subsystems.discovery.connections.members
}

describe('the known-peers store', () => {
  it('does not persist a stranger claiming membership when trust.allowPeers excludes it', async () => {
    const friend = await claimingPeer()
    const stranger = await claimingPeer()
    const target = await startNode('target', { trust: { allowPeers: [friend.peerId.toString()], tools: {} } })

    // The stranger connects first and is identified as a member (the claim is seen)...
    await stranger.dial(multiaddr(target.address))
    await waitFor(async () => (await members(target)) === 1, { timeoutMs: 15_000, message: 'stranger identified' })
    // ...then the admitted peer: it is stored, so identify results are being recorded.
    await friend.dial(multiaddr(target.address))
    await waitFor(async () => (await stored(target)) >= 1, { timeoutMs: 15_000, message: 'friend stored' })
    await waitFor(async () => (await members(target)) === 2, { timeoutMs: 15_000, message: 'both identified' })
    expect(await stored(target)).toBe(1)
  }, 60_000)
})
