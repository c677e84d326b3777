import { Client } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import type { CallToolResult, Tool } from '@modelcontextprotocol/server'
import { afterAll, describe, expect, it } from 'vitest'
import { cleanup, createHome, NODE_BIN, spawnNode, tcpAddress, track, waitFor } from '../helpers/index.js'
import { FIXTURE_SERVER } from './suite.js'

/**
 * Pass-through, end to end: what the fixture server returns and lists
 * directly reaches the client unchanged through node A (sharing it) and node
 * B (through the mesh): every content type with its annotations and `_meta`,
 * resource links with icons, `structuredContent`, the result's `_meta`, the
 * tool's title, annotations, icons and `_meta`. The mesh adds only its own
 * `_meta` keys (prefixed `mcp-mesh/`), and a remote error keeps its content,
 * the first text block marked with its origin.
 */
afterAll(cleanup)

const MESH_KEY = /^mcp-mesh\//u

function withoutMeshKeys(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(meta ?? {}).filter(([key]) => !MESH_KEY.test(key)))
}

async function direct(): Promise<Client> {
  const client = new Client({ name: 'passthrough-test', version: '1' })
  await client.connect(new StdioClientTransport({ command: NODE_BIN, args: [FIXTURE_SERVER], stderr: 'ignore' }))
  track('direct fixture client', async () => client.close())
  return client
}

describe('pass-through of shared servers, locally and through the mesh', () => {
  it('results and listings reach the client unchanged; the mesh adds only its own _meta keys', async () => {
    const fixture = await direct()
    const a = await spawnNode({
      home: (
        await createHome({
          config: { servers: { fixture: { command: NODE_BIN, args: [FIXTURE_SERVER], prefix: '', export: true } } }
        })
      ).dir
    })
    const b = await spawnNode({
      home: (await createHome()).dir,
      args: ['--bootstrap', tcpAddress(await a.status())]
    })
    await waitFor(async () => (await b.client.listTools()).tools.some((tool) => tool.name === 'test_passthrough'), {
      timeoutMs: 30_000,
      message: "A's fixture tools to reach B"
    })
    const listedTool = async (client: Client): Promise<Tool> =>
      (await client.listTools()).tools.find((tool) => tool.name === 'test_passthrough')!
    const original = await listedTool(fixture)
    const expected = (await fixture.callTool({ name: 'test_passthrough', arguments: {} })) as CallToolResult
    for (const [where, client] of [
      ['A', a.client],
      ['B', b.client]
    ] as const) {
      const listed = await listedTool(client)
      expect({ title: listed.title, annotations: listed.annotations, icons: listed.icons }, where).toEqual({
        title: original.title,
        annotations: original.annotations,
        icons: original.icons
      })
      expect(withoutMeshKeys(listed._meta), where).toEqual(original._meta)
      expect(listed.outputSchema, where).toEqual(original.outputSchema)
      const result = (await client.callTool({ name: 'test_passthrough', arguments: {} })) as CallToolResult
      expect(result.content, where).toEqual(expected.content)
      expect(result.structuredContent, where).toEqual(expected.structuredContent)
      expect(withoutMeshKeys(result._meta), where).toEqual(expected._meta)
    }

    const peerId = (await a.status()).peerId
    const failed = (await b.client.callTool({ name: 'test_passthrough_error', arguments: {} })) as CallToolResult
    expect(failed.isError).toBe(true)
    expect(failed.content).toEqual([
      { type: 'text', text: `tool "test_passthrough_error" failed on peer ${peerId}: first reason` },
      expect.objectContaining({ type: 'image', mimeType: 'image/png' }),
      { type: 'text', text: 'second reason' }
    ])
    expect(withoutMeshKeys(failed._meta)).toEqual({ 'example.com/trace': 'err' })
  }, 120_000)
})
