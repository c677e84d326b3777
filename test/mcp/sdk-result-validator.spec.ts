/**
 * patches/sdk-result-validator.mjs makes the SDK client keep one result
 * validator per era codec and method instead of probing the codec (a failing
 * zod parse of `undefined`, a ZodError and its message) on every request.
 * The client talks to a scripted server over the SDK's in-memory transport,
 * so every answer, valid or not, is the test's.
 */
import { Client, InMemoryTransport, type JSONRPCMessage } from '@modelcontextprotocol/client'
import { afterEach, describe, expect, it } from 'vitest'

interface Codec {
  validateResult: (method: string, value: unknown) => { ok: boolean }
}

interface ClientInternals {
  _resolveOutboundCodec: (method: string) => Codec
}

const restores: Array<() => void> = []
afterEach(() => {
  for (const restore of restores.splice(0)) restore()
})

/** A client connected to a server that answers initialize as `revision` and tools/call with `answer(args)`. */
async function scriptedClient(revision: string, answer: (args: Record<string, unknown>) => unknown): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  serverSide.onmessage = (message: JSONRPCMessage): void => {
    if (!('id' in message) || !('method' in message)) return
    const reply = (result: unknown): void => {
      void serverSide.send({ jsonrpc: '2.0', id: message.id, result } as JSONRPCMessage)
    }
    if (message.method === 'initialize') {
      reply({
        protocolVersion: revision,
        capabilities: { tools: {} },
        serverInfo: { name: 'scripted', version: '1.0.0' }
      })
    } else if (message.method === 'tools/call') {
      const params = message.params as { arguments?: Record<string, unknown> }
      reply(answer(params.arguments ?? {}))
    } else {
      void serverSide.send({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'no such method' } })
    }
  }
  await serverSide.start()
  const client = new Client({ name: 'result-validator-test', version: '1.0.0' })
  await client.connect(clientSide)
  restores.push(() => void client.close())
  return client
}

/** Counts the codec's validateResult calls: probes (value undefined) and real validations. */
function countValidations(client: Client, method: string): { probes: number; values: number } {
  const codec = (client as unknown as ClientInternals)._resolveOutboundCodec(method)
  const original = codec.validateResult
  const counts = { probes: 0, values: 0 }
  codec.validateResult = (m, value) => {
    if (m === method) {
      if (value === undefined) counts.probes++
      else counts.values++
    }
    return original.call(codec, m, value)
  }
  restores.push(() => {
    codec.validateResult = original
  })
  return counts
}

describe('the SDK client with patches/sdk-result-validator.mjs', () => {
  it('probes the codec at most once per method, not on every request, and still validates every result', async () => {
    const client = await scriptedClient('2025-11-25', (args) => ({
      content: [{ type: 'text', text: String(args.message) }]
    }))
    const counts = countValidations(client, 'tools/call')
    for (let i = 0; i < 5; i++) {
      const result = await client.callTool({ name: 'echo', arguments: { message: `m${i}` } })
      expect(result.content).toEqual([{ type: 'text', text: `m${i}` }])
    }
    // The positive control: the harness sees the SDK validate each of the 5 results.
    expect(counts.values).toBe(5)
    // Unpatched, the SDK probes before each request: 5.
    expect(counts.probes).toBeLessThanOrEqual(1)
  })

  it('still refuses an invalid result, on every request, with the SDK error', async () => {
    const client = await scriptedClient('2025-11-25', (args) =>
      args.bad === true ? { content: 'not a list' } : { content: [{ type: 'text', text: 'ok' }] }
    )
    for (let i = 0; i < 3; i++) {
      await expect(client.callTool({ name: 'echo', arguments: { bad: true } })).rejects.toThrow(/content/)
      const good = await client.callTool({ name: 'echo', arguments: {} })
      expect(good.content).toEqual([{ type: 'text', text: 'ok' }])
    }
  })

  it('still throws its TypeError for a method without a result schema, every time', async () => {
    const client = await scriptedClient('2025-11-25', () => ({ content: [] }))
    for (let i = 0; i < 2; i++) {
      expect(() => client.request({ method: 'x-custom/thing', params: {} } as never)).toThrow(TypeError)
    }
  })
})
