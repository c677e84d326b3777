import { Client, InMemoryTransport } from '@modelcontextprotocol/client'
import { McpServer } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { churnRequestMaps } from '../../src/mcp/request-maps.js'
import { ChurnMap } from '../../src/util/churn-map.js'

const FIELDS = ['_responseHandlers', '_timeoutInfo', '_progressHandlers', '_requestHandlerAbortControllers']

async function connectedPair(): Promise<{ client: Client; server: McpServer }> {
  const server = new McpServer({ name: 'echo', version: '1.0.0' })
  server.registerTool('echo', { inputSchema: z.object({ n: z.number() }) }, async ({ n }, ctx) => {
    await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: `p${n}`, progress: 1 } })
    await new Promise((resolve) => setImmediate(resolve))
    return { content: [{ type: 'text', text: String(n) }] }
  })
  const client = new Client({ name: 'test', version: '1.0.0' })
  churnRequestMaps(client)
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  await server.connect(serverSide)
  await client.connect(clientSide)
  return { client, server }
}

describe('churnRequestMaps', () => {
  it("swaps the SDK client's per-request maps for ChurnMaps, and the client works as before", async () => {
    const { client, server } = await connectedPair()
    const fields = client as unknown as Record<string, unknown>
    // Positive control of the field names: the SDK has them, and they are swapped.
    for (const field of FIELDS) expect(fields[field], field).toBeInstanceOf(ChurnMap)
    try {
      // Many requests in flight at once, each with its own timeout and progress handler.
      const progress: number[] = []
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, n) =>
          client.callTool({ name: 'echo', arguments: { n } }, { onprogress: () => progress.push(n), timeout: 10_000 })
        )
      )
      expect(results.map((r) => (r.content as Array<{ text: string }>)[0]!.text)).toEqual(
        Array.from({ length: 200 }, (_, n) => String(n))
      )
      for (const field of FIELDS) expect((fields[field] as ChurnMap<unknown, object>).size, field).toBe(0)
      // An error response still settles its request (its handler is found and removed).
      await expect(client.callTool({ name: 'absent', arguments: {} })).rejects.toThrow(/absent/)
      expect((fields._responseHandlers as ChurnMap<unknown, object>).size).toBe(0)
    } finally {
      await client.close()
      await server.close()
    }
  })

  it('leaves an object without those maps as it is', () => {
    const other: Record<string, unknown> = { _responseHandlers: 'not a map' }
    churnRequestMaps(other)
    expect(other).toEqual({ _responseHandlers: 'not a map' })
  })
})
