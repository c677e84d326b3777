import { Client, InMemoryTransport } from '@modelcontextprotocol/client'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { McpFront } from '../../src/mcp/front.js'
import { LocalToolView } from '../../src/mcp/local-view.js'
import { RuntimeRouter } from '../../src/router/router.js'
import { defineTool } from '../../src/tools/define.js'
import { ToolRegistry } from '../../src/tools/registry.js'
import { resultText } from '../helpers/tools.js'

/**
 * Input rounds in the front: a tool that asks its caller for input as a
 * promise (as a proxied 2025 server does) is served to a 2026-07-28 client
 * as input_required rounds and to a 2025 client as server-to-client requests.
 */

let front: McpFront

afterEach(async () => front.close())

const nameSchema = { type: 'object', properties: { value: { type: 'string' } }, required: ['value'] }

function askTwice(): ReturnType<typeof defineTool> {
  return defineTool({
    name: 'ask_twice',
    description: 'asks for a first and a last name, one after the other',
    inputSchema: z.object({}),
    handler: async (_args, ctx) => {
      if (ctx.requestInput == null) throw new Error('no caller to ask')
      const ask = async (message: string): Promise<string> => {
        const answer = await ctx.requestInput!({
          method: 'elicitation/create',
          params: { mode: 'form', message, requestedSchema: nameSchema }
        })
        return String((answer.content as { value: string }).value)
      }
      return `${await ask('first name?')} ${await ask('last name?')}`
    }
  })
}

/** Asks, the asking server cancels that request at once, then asks again: only the second reaches the client. */
function askCancelled(): ReturnType<typeof defineTool> {
  return defineTool({
    name: 'ask_cancelled',
    description: 'asks, cancels the question, asks another',
    inputSchema: z.object({}),
    handler: async (_args, ctx) => {
      const cancel = new AbortController()
      const first = ctx.requestInput!({
        method: 'elicitation/create',
        params: { mode: 'form', message: 'first name?', requestedSchema: nameSchema },
        signal: cancel.signal
      })
      cancel.abort()
      const outcome = await first.then(
        () => 'answered',
        (err: Error) => err.message
      )
      const answer = await ctx.requestInput!({
        method: 'elicitation/create',
        params: { mode: 'form', message: 'last name?', requestedSchema: nameSchema }
      })
      return `${outcome}; ${String((answer.content as { value: string }).value)}`
    }
  })
}

async function connect(modern: boolean, asked: string[]): Promise<Client> {
  const registry = new ToolRegistry()
  registry.register(askTwice())
  registry.register(askCancelled())
  front = new McpFront({ name: 'test', version: '1' })
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  front.serveStream(serverSide, new LocalToolView(registry, new RuntimeRouter(registry)), { kind: 'local' })
  const client = new Client(
    { name: 'rounds-test', version: '1' },
    {
      capabilities: { elicitation: {} },
      ...(modern ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {})
    }
  )
  client.setRequestHandler('elicitation/create', async (request) => {
    const message = (request.params as { message: string }).message
    asked.push(message)
    return { action: 'accept', content: { value: message === 'first name?' ? 'Ada' : 'Lovelace' } }
  })
  await client.connect(clientSide)
  return client
}

describe('input rounds', () => {
  for (const modern of [true, false]) {
    it(`asks a ${modern ? '2026-07-28' : '2025'} client twice, in order, and returns the result`, async () => {
      const asked: string[] = []
      const client = await connect(modern, asked)
      const result = (await client.callTool({ name: 'ask_twice', arguments: {} })) as CallToolResult
      expect(resultText(result)).toBe('Ada Lovelace')
      expect(asked).toEqual(['first name?', 'last name?'])
    })

    it(`does not ask a ${modern ? '2026-07-28' : '2025'} client what the asking server cancelled`, async () => {
      const asked: string[] = []
      const client = await connect(modern, asked)
      const result = (await client.callTool({ name: 'ask_cancelled', arguments: {} })) as CallToolResult
      expect(resultText(result)).toBe('elicitation/create was cancelled by the server that asked; Lovelace')
      expect(asked).toEqual(['last name?'])
    })
  }
})
