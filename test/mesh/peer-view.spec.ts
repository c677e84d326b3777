import { Client, InMemoryTransport } from '@modelcontextprotocol/client'
import { ProtocolError } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import {
  ERROR_CODE_BUSY,
  ERROR_CODE_DENIED,
  ERROR_CODE_RATE_LIMITED,
  MAX_IDLE_PEER_ENTRIES
} from '../../src/mesh/constants.js'
import { createFront } from '../../src/mcp/front.js'
import { type InboundCallHook, InboundLimiter, PeerToolView, type PeerViewHost } from '../../src/mesh/peer-view.js'
import { RuntimeRouter } from '../../src/router/router.js'
import { ToolRegistry } from '../../src/tools/registry.js'
import { TrustGate } from '../../src/trust/index.js'
import { rejectionOf, testContext, testTool } from '../helpers/index.js'

function setup(
  trust: { allowPeers?: string[]; tools: Record<string, string[]> } = { tools: {} },
  limits = {},
  inboundCall?: InboundCallHook
) {
  const registry = new ToolRegistry()
  registry.register(testTool('shared', { meta: { export: true } }))
  registry.register(testTool('private'))
  registry.register(testTool('vip', { meta: { export: true } }))
  const router = new RuntimeRouter(registry)
  const limiter = new InboundLimiter({
    maxConcurrencyPerPeer: 4,
    maxQueuePerPeer: 4,
    maxRequestsPerSecondPerPeer: 1000,
    requestTimeoutMs: 10_000,
    ...limits
  })
  const host: PeerViewHost = {
    registry,
    gate: new TrustGate({ export: { tools: [] }, trust }, { tools: registry }),
    runLocal: async (name, args, context) => router.call(name, args, context, { override: 'local' }),
    inboundCall
  }
  return { registry, limiter, view: (peer: string) => new PeerToolView(peer, host, limiter) }
}

const ctx = () => ({ ...testContext(), override: undefined })

describe('PeerToolView (authorization view)', () => {
  it('lists and runs only exported tools', async () => {
    const { view } = setup()
    expect(
      view('p1')
        .list()
        .map((t) => t.name)
        .sort()
    ).toEqual(['shared', 'vip'])
    const result = await view('p1').call('shared', {}, ctx())
    expect(result.structuredContent).toEqual({ ran: 'shared' })
    const err = await rejectionOf<ProtocolError>(view('p1').call('private', {}, ctx()))
    expect(err).toBeInstanceOf(ProtocolError)
    expect(err.code).toBe(ERROR_CODE_DENIED)
    expect(err.message).toContain('not exported')
  })

  it('applies the global and per-tool allowlists', async () => {
    const { view, limiter } = setup({ allowPeers: ['p1', 'p2'], tools: { vip: ['p1'] } })
    expect(view('p3').list()).toEqual([])
    expect(
      view('p2')
        .list()
        .map((t) => t.name)
    ).toEqual(['shared'])
    expect(
      view('p1')
        .list()
        .map((t) => t.name)
        .sort()
    ).toEqual(['shared', 'vip'])
    expect((await rejectionOf<ProtocolError>(view('p2').call('vip', {}, ctx()))).code).toBe(ERROR_CODE_DENIED)
    expect((await rejectionOf<ProtocolError>(view('p3').call('shared', {}, ctx()))).message).toContain(
      'trust.allowPeers'
    )
    expect(limiter.counters.denied).toBe(2)
  })

  it('rate-limits per peer without affecting other peers', async () => {
    const { view, limiter } = setup({ tools: {} }, { maxRequestsPerSecondPerPeer: 2 })
    await view('p1').call('shared', {}, ctx())
    await view('p1').call('shared', {}, ctx())
    expect((await rejectionOf<ProtocolError>(view('p1').call('shared', {}, ctx()))).code).toBe(ERROR_CODE_RATE_LIMITED)
    await expect(view('p2').call('shared', {}, ctx())).resolves.toBeDefined()
    expect(limiter.counters.rateLimited).toBe(1)
  })

  it('keeps a bounded number of idle peers in the limiter (peer IDs are free to mint)', async () => {
    const { view, limiter } = setup()
    for (let i = 0; i < 3 * MAX_IDLE_PEER_ENTRIES; i++) await view(`peer-${i}`).call('shared', {}, ctx())
    expect(limiter.slotEntries).toBeGreaterThan(0)
    expect(limiter.slotEntries).toBeLessThanOrEqual(MAX_IDLE_PEER_ENTRIES)
    expect(limiter.counters.inFlight).toBe(0)
    expect(limiter.counters.queued).toBe(0)
    // A peer's slots are reused, and its calls still run under its limits.
    await view('peer-0').call('shared', {}, ctx())
    expect(limiter.slotEntries).toBeLessThanOrEqual(MAX_IDLE_PEER_ENTRIES)
  })

  it('caps concurrency per peer and refuses beyond the queue bound', async () => {
    const { registry, view, limiter } = setup({ tools: {} }, { maxConcurrencyPerPeer: 1, maxQueuePerPeer: 1 })
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let running = 0
    let peak = 0
    registry.register(
      testTool('gated', {
        meta: { export: true },
        handler: async () => {
          running++
          peak = Math.max(peak, running)
          await gate
          running--
          return { ok: true }
        }
      })
    )
    const first = view('p1').call('gated', {}, ctx())
    const second = view('p1').call('gated', {}, ctx())
    const third = await rejectionOf<ProtocolError>(view('p1').call('gated', {}, ctx()))
    expect(third.code).toBe(ERROR_CODE_BUSY)
    release()
    await Promise.all([first, second])
    expect(peak).toBe(1)
    expect(limiter.counters.busy).toBe(1)
  })

  it('keeps the mesh error codes intact across the MCP wire (codes MCP reserves would be rewritten)', async () => {
    const { registry, view } = setup({ tools: {} }, { maxConcurrencyPerPeer: 1, maxQueuePerPeer: 0 })
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    registry.register(
      testTool('gated', {
        meta: { export: true },
        handler: async () => {
          await gate
          return { ok: true }
        }
      })
    )
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
    await createFront().connect(serverSide, view('p1'), { kind: 'peer', peerId: 'p1' })
    const client = new Client({ name: 'peer', version: '1.0.0' })
    await client.connect(clientSide)
    try {
      const denied = await rejectionOf<ProtocolError>(client.callTool({ name: 'private', arguments: {} }))
      expect(denied.code).toBe(ERROR_CODE_DENIED)
      const first = client.callTool({ name: 'gated', arguments: {} })
      const busy = await rejectionOf<ProtocolError>(client.callTool({ name: 'gated', arguments: {} }))
      expect(busy.code).toBe(ERROR_CODE_BUSY)
      release()
      await first
    } finally {
      await client.close()
    }
  })
})

describe('PeerToolView inbound-call hook', () => {
  it('lets the hook take an authorized call over, outside the per-peer call queue', async () => {
    const seen: Array<{ peer: string; tool: string; args: unknown }> = []
    const hook: InboundCallHook = (call) => {
      seen.push({ peer: call.peer, tool: call.tool, args: call.args })
      return Promise.resolve({ content: [{ type: 'text', text: 'taken over' }] })
    }
    // A queue bound of zero: only a call that bypasses the limiter can run while another holds the slot.
    const { registry, view, limiter } = setup({ tools: {} }, { maxConcurrencyPerPeer: 1, maxQueuePerPeer: 0 }, hook)
    let ran = 0
    registry.register(
      testTool('counted', {
        meta: { export: true },
        handler: async () => {
          ran++
          return { ok: true }
        }
      })
    )
    const result = await view('p1').call('counted', { n: 1 }, ctx())
    expect(result.content).toEqual([{ type: 'text', text: 'taken over' }])
    expect(seen).toEqual([{ peer: 'p1', tool: 'counted', args: { n: 1 } }])
    expect(ran).toBe(0)
    expect(limiter.counters).toMatchObject({ calls: 1, inFlight: 0, queued: 0, busy: 0 })
  })

  it('runs the call locally under the limits when the hook returns undefined', async () => {
    let hookCalls = 0
    const { view, limiter } = setup({ tools: {} }, {}, () => {
      hookCalls++
      return undefined
    })
    const result = await view('p1').call('shared', {}, ctx())
    expect(result.structuredContent).toEqual({ ran: 'shared' })
    expect(hookCalls).toBe(1)
    expect(limiter.counters.calls).toBe(1)
  })

  it('never calls the hook for a denied call', async () => {
    let hookCalls = 0
    const { view, limiter } = setup({ allowPeers: ['p1'], tools: { vip: ['p2'] } }, {}, () => {
      hookCalls++
      return Promise.resolve({ content: [] })
    })
    expect((await rejectionOf<ProtocolError>(view('p1').call('private', {}, ctx()))).code).toBe(ERROR_CODE_DENIED)
    expect((await rejectionOf<ProtocolError>(view('p1').call('vip', {}, ctx()))).code).toBe(ERROR_CODE_DENIED)
    expect((await rejectionOf<ProtocolError>(view('p3').call('shared', {}, ctx()))).code).toBe(ERROR_CODE_DENIED)
    expect(hookCalls).toBe(0)
    expect(limiter.counters).toMatchObject({ calls: 0, denied: 3 })
  })
})
