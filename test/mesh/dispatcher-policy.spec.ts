/**
 * The dispatcher applies the policy of the provider each attempt goes to
 * (its own signed record and listing), never the merged listing's `_meta`
 * or annotations (red-team finding 12).
 */
import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import type { AdvertTool } from '../../src/mesh/advert.js'
import type { Catalog, CatalogPeer } from '../../src/mesh/catalog.js'
import { PeerDispatcher } from '../../src/mesh/dispatcher.js'
import type { PeerPool } from '../../src/mesh/peer-pool.js'
import type { MeshSurface, SurfaceEntry } from '../../src/mesh/surface.js'
import type { ToolContext } from '../../src/tools/types.js'

const META = 'mcp-mesh/meta'
const inputSchema = { type: 'object' as const, properties: {} }

type Behaviour = (signal: AbortSignal) => Promise<CallToolResult>

function peer(id: string, advert: Partial<AdvertTool>, descriptor: Partial<McpTool> = {}): CatalogPeer {
  const entry: AdvertTool = {
    name: 'double',
    schemaHash: 'a'.repeat(64),
    tags: [],
    category: 'general',
    priority: 5,
    timeoutMs: 30_000,
    ...advert
  }
  return {
    peerId: id,
    seq: 1,
    lastSeen: Date.now(),
    source: 'gossip',
    capacity: { maxConcurrency: 4 },
    load: { inFlight: 0, queued: 0 },
    tools: new Map([['double', { advert: entry, descriptor: { name: 'double', inputSchema, ...descriptor } }]])
  }
}

function setup(peers: CatalogPeer[], behaviours: Record<string, Behaviour>) {
  const calls: string[] = []
  // The merged listing as an attacker first in the catalog would have had it: 1 ms, ten retries, idempotent.
  const entry: SurfaceEntry = {
    name: 'double',
    remoteName: 'double',
    providers: peers.map((p) => p.peerId),
    descriptor: {
      name: 'double',
      inputSchema,
      annotations: { idempotentHint: true },
      _meta: { [META]: { timeoutMs: 1, retry: { policy: 'linear', maxAttempts: 10, baseDelayMs: 1 } } }
    }
  }
  const byId = new Map(peers.map((p) => [p.peerId, p]))
  const catalog = {
    peer: (id: string) => byId.get(id),
    lookup: async () => undefined
  } as unknown as Catalog
  const surface = { resolve: (name: string) => (name === 'double' ? entry : undefined) } as unknown as MeshSurface
  const pool = {
    // No stream open yet: every attempt goes through `get`.
    ready: () => undefined,
    get: async (id: string) => ({
      callTool: async (_params: unknown, options: { signal: AbortSignal }) => {
        calls.push(id)
        return behaviours[id]!(options.signal)
      }
    }),
    drop: async () => {},
    logs: { open: () => undefined }
  } as unknown as PeerPool
  const gate = { maySendTo: () => true, checkSend: () => true }
  const dispatcher = new PeerDispatcher(catalog, surface, pool, gate)
  const ctx = { signal: new AbortController().signal, reportProgress: () => {} } as unknown as ToolContext
  return { dispatcher, calls, call: async () => dispatcher.dispatch({ name: 'double', args: {} }, ctx) }
}

const ok =
  (text: string): Behaviour =>
  async () => ({ content: [{ type: 'text', text }] })

function delayed(ms: number, behaviour: Behaviour): Behaviour {
  return async (signal) => {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms)
      signal.addEventListener('abort', () => {
        clearTimeout(timer)
        reject(signal.reason)
      })
    })
    return behaviour(signal)
  }
}

describe('the dispatcher’s per-provider policy', () => {
  it('gives a call the called provider’s timeout, not the listing’s', async () => {
    const { call } = setup([peer('honest', { timeoutMs: 5_000 })], { honest: delayed(30, ok('42')) })
    const result = await call()
    expect(result.isError).not.toBe(true)
    expect(result.content).toEqual([{ type: 'text', text: '42' }])
  })

  it('times an attempt out at its own provider’s timeout', async () => {
    // `other` has no live connection, so `slow` is tried first; the whole call could last 5 s.
    const other = { ...peer('other', { timeoutMs: 5_000 }), disconnectedAt: Date.now() }
    const { call, calls } = setup([peer('slow', { timeoutMs: 20 }), other], {
      slow: delayed(2_000, ok('late')),
      other: ok('other')
    })
    const started = Date.now()
    const result = await call()
    expect(calls).toEqual(['slow'])
    expect(result.isError).toBe(true)
    expect(JSON.stringify(result.content)).toContain('20 ms')
    expect(Date.now() - started).toBeLessThan(1_500)
  })

  it('retries and fails over only as the provider’s own record and listing allow', async () => {
    const failing: Behaviour = async () => {
      throw new Error('stream reset after the request was sent')
    }
    // Neither provider's own record has a retry policy, nor its own listing idempotentHint.
    const { call, calls } = setup([peer('a', {}), peer('b', {})], { a: failing, b: failing })
    const result = await call()
    expect(result.isError).toBe(true)
    expect(calls).toHaveLength(1)
  })

  it('fails over a call that may have run when every provider’s own listing says it is idempotent', async () => {
    const failing: Behaviour = async () => {
      throw new Error('stream reset after the request was sent')
    }
    const idempotent = { annotations: { idempotentHint: true } }
    const { call, calls } = setup([peer('a', {}, idempotent), peer('b', {}, idempotent)], { a: failing, b: failing })
    await call()
    expect(calls.sort()).toEqual(['a', 'b'])
  })
})

describe('the dispatcher’s deadline on the caller’s own controller', () => {
  const slow = (): Record<string, Behaviour> => ({ slow: delayed(5_000, ok('late')) })

  it('answers a call that ran out of time as timed out, aborting the controller it was handed', async () => {
    const { dispatcher } = setup([peer('slow', { timeoutMs: 30 })], slow())
    const controller = new AbortController()
    const ctx = { signal: controller.signal, reportProgress: () => {} } as unknown as ToolContext
    const result = await dispatcher.dispatch({ name: 'double', args: {} }, ctx, controller)
    expect(result.isError).toBe(true)
    expect(JSON.stringify(result.content)).toContain('timed out after 30 ms')
    // The deadline aborted the caller's controller itself (no controller of its own chained to it).
    expect(controller.signal.aborted).toBe(true)
  })

  it('still answers a call its caller cancelled as cancelled', async () => {
    const { dispatcher, calls } = setup([peer('slow', { timeoutMs: 5_000 })], slow())
    const controller = new AbortController()
    const ctx = { signal: controller.signal, reportProgress: () => {} } as unknown as ToolContext
    const pending = dispatcher.dispatch({ name: 'double', args: {} }, ctx, controller)
    // Cancelled once the peer has the call (the stub listens from then on).
    for (let turn = 0; calls.length === 0 && turn < 1_000; turn++) await new Promise((resolve) => setImmediate(resolve))
    expect(calls).toEqual(['slow'])
    controller.abort(new Error('the client cancelled'))
    const result = await pending
    expect(result.isError).toBe(true)
    expect(JSON.stringify(result.content)).toContain('was cancelled')
  })

  it('leaves a controller that is not the signal’s alone (a deadline of its own)', async () => {
    const { dispatcher } = setup([peer('slow', { timeoutMs: 30 })], slow())
    const unrelated = new AbortController()
    const ctx = { signal: new AbortController().signal, reportProgress: () => {} } as unknown as ToolContext
    const result = await dispatcher.dispatch({ name: 'double', args: {} }, ctx, unrelated)
    expect(JSON.stringify(result.content)).toContain('timed out after 30 ms')
    expect(unrelated.signal.aborted).toBe(false)
    expect(ctx.signal.aborted).toBe(false)
  })
})
