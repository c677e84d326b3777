/**
 * A remote tool's task defaults (timeout, retry, priority) come from the
 * providers' own records: the placed peer's, or what all providers agree
 * on; never the first provider's when they differ (red-team finding 12).
 */
import { describe, expect, it } from 'vitest'
import type { CatalogPeer } from '../../../src/mesh/index.js'
import { QueueOwner } from '../../../src/queue/owner/api.js'
import { DEFAULT_TIMEOUT_MS } from '../../../src/tools/meta.js'
import { ToolRegistry } from '../../../src/tools/registry.js'
import { catalogPeer, ownerParts } from '../fixtures.js'

function offering(peerId: string, timeoutMs: number, maxAttempts: number): CatalogPeer {
  const peer = catalogPeer(peerId, { tools: ['render'] })
  const tool = peer.tools.get('render')!
  tool.advert = {
    ...tool.advert,
    timeoutMs,
    retry: { policy: 'linear', maxAttempts, baseDelayMs: 1, retryOnToolError: false }
  }
  return peer
}

async function owner(peers: CatalogPeer[]): Promise<QueueOwner> {
  const parts = await ownerParts()
  return new QueueOwner({
    store: parts.store,
    scheduler: parts.scheduler,
    leases: parts.leases,
    abortPull: async () => {},
    registry: new ToolRegistry(),
    peers: () => peers,
    self: 'self'
  })
}

describe('a remote tool’s task defaults', () => {
  it('are not the first provider’s when providers differ', async () => {
    for (const peers of [
      [offering('attacker', 1, 10), offering('honest', 5_000, 1)],
      [offering('honest', 5_000, 1), offering('attacker', 1, 10)]
    ]) {
      const { task } = await (await owner(peers)).submit({ tool: 'render', args: {} })
      expect(task.timeoutMs).toBe(DEFAULT_TIMEOUT_MS)
      expect(task.retry.maxAttempts).toBe(1)
      expect(task.retry.policy).toBe('none')
    }
  })

  it('are the placed provider’s, or what all providers agree on', async () => {
    const peers = [offering('a', 1_000, 3), offering('b', 5_000, 2)]
    const placed = await (await owner(peers)).submit({ tool: 'render', args: {}, placement: { peer: 'b' } })
    expect(placed.task.timeoutMs).toBe(5_000)
    expect(placed.task.retry.maxAttempts).toBe(2)
    const agreed = await (await owner([offering('a', 7_000, 3), offering('b', 7_000, 3)])).submit({ tool: 'render' })
    expect(agreed.task.timeoutMs).toBe(7_000)
    expect(agreed.task.retry.maxAttempts).toBe(3)
  })
})
