/**
 * The gate and the per-peer limits on the `/mcp+p2p` content path (prompts,
 * resources, templates, subscriptions and completion of shared servers),
 * attacked by raw libp2p peers against a real node sharing the conformance
 * fixture. A server without `export: true` shares nothing with peers;
 * trust.allowPeers applies; reads, gets and completions count against the
 * peer's request rate like tools/call, and every refusal is counted under
 * `mesh_status.trust.inbound.content`.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ERROR_CODE_DENIED, ERROR_CODE_RATE_LIMITED } from '../../src/mesh/constants.js'
import { cleanup, createHome, NODE_BIN, type NodeProcess, spawnNode, tcpAddress, waitFor } from '../helpers/index.js'
import { FIXTURE_SERVER } from '../conformance/suite.js'
import { type MeshStatusPart, rawPeer, session, type Watched } from './mesh-raw-peer.js'

afterEach(cleanup)

async function sharing(
  exported: boolean,
  config: Record<string, unknown> = {}
): Promise<{ node: NodeProcess; address: string }> {
  const home = await createHome({
    config: {
      servers: { fixture: { command: NODE_BIN, args: [FIXTURE_SERVER], prefix: '', export: exported } },
      ...config
    }
  })
  const node = await spawnNode({ home: home.dir })
  await waitFor(async () => (await node.client.listPrompts()).prompts.length > 0, {
    timeoutMs: 30_000,
    message: 'the fixture to be shared'
  })
  return { node, address: tcpAddress(await node.status()) }
}

async function request(s: Watched, id: number, method: string, params: Record<string, unknown> = {}) {
  s.send({ id, method, params })
  return s.response(id)
}

async function contentRefusals(node: NodeProcess): Promise<MeshStatusPart['trust']['inbound'][string]> {
  return (await node.status()).trust.inbound.content as MeshStatusPart['trust']['inbound'][string]
}

describe("the gate on shared servers' prompts, resources and completions", () => {
  it('shares nothing of a server without export: true (control: with it, a peer lists, reads and gets)', async () => {
    const hidden = await sharing(false)
    const h = await session(await rawPeer(), hidden.address)
    expect((await request(h, 2, 'prompts/list')).result).toEqual({ prompts: [] })
    expect((await request(h, 3, 'resources/list')).result).toEqual({ resources: [] })
    const read = await request(h, 4, 'resources/read', { uri: 'test://static-text' })
    expect(String((read.error as { message?: string }).message)).toContain('Resource not found')
    const got = await request(h, 5, 'prompts/get', { name: 'test_simple_prompt' })
    expect(String((got.error as { message?: string }).message)).toContain('Unknown prompt')

    const shared = await sharing(true)
    const s = await session(await rawPeer(), shared.address)
    const prompts = (await request(s, 2, 'prompts/list')).result as { prompts: Array<{ name: string }> }
    expect(prompts.prompts.map((p) => p.name)).toContain('test_simple_prompt')
    const text = (await request(s, 3, 'resources/read', { uri: 'test://static-text' })).result as {
      contents: Array<{ text: string }>
    }
    expect(text.contents[0]!.text).toContain('static text resource')
    const completion = (
      await request(s, 4, 'completion/complete', {
        ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' },
        argument: { name: 'arg1', value: 'par' }
      })
    ).result as { completion: { values: string[] } }
    expect(completion.completion.values).toEqual(['paris', 'park', 'party'])
    expect((await request(s, 5, 'resources/subscribe', { uri: 'test://watched-resource' })).result).toEqual({})
  })

  it('applies trust.allowPeers to every content request', async () => {
    const trusted = await rawPeer()
    const stranger = await rawPeer()
    const { node, address } = await sharing(true, { trust: { allowPeers: [trusted.peerId.toString()] } })
    const s = await session(stranger, address)
    for (const [id, method, params] of [
      [2, 'prompts/list', {}],
      [3, 'resources/read', { uri: 'test://static-text' }],
      [4, 'prompts/get', { name: 'test_simple_prompt' }]
    ] as const) {
      const refused = await request(s, id, method, params)
      expect(refused.error, method).toMatchObject({ code: ERROR_CODE_DENIED })
      expect(String((refused.error as { message: string }).message)).toContain('trust.allowPeers')
    }
    const t = await session(trusted, address)
    expect((await request(t, 2, 'resources/read', { uri: 'test://static-text' })).result).toBeDefined()
    expect((await contentRefusals(node)).denied).toBe(3)
  })

  it('counts reads, gets and completions against the peer rate limit, refused with the rate-limited code', async () => {
    const { node, address } = await sharing(true, { protocol: { maxRequestsPerSecondPerPeer: 1 } })
    const s = await session(await rawPeer(), address)
    const responses = await Promise.all([
      request(s, 11, 'resources/read', { uri: 'test://static-text' }),
      request(s, 12, 'prompts/get', { name: 'test_simple_prompt' }),
      request(s, 13, 'completion/complete', {
        ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' },
        argument: { name: 'arg1', value: 'p' }
      })
    ])
    const codes = responses.map((r) => (r.error as { code?: number } | undefined)?.code)
    expect(codes.filter((code) => code === ERROR_CODE_RATE_LIMITED).length).toBeGreaterThanOrEqual(1)
    expect(responses.some((r) => r.result != null)).toBe(true)
    expect((await contentRefusals(node))['rate-limited']).toBeGreaterThanOrEqual(1)
    // Not the call path's counter: each path counts its own refusals.
    expect((await node.status()).trust.inbound.call!['rate-limited']).toBe(0)
  })
})
