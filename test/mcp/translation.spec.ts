import { Client } from '@modelcontextprotocol/client'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  cleanup,
  createHome,
  FIXTURES_DIR,
  NODE_BIN,
  resultText,
  startDaemon,
  track,
  waitFor,
  modernServer
} from '../helpers/index.js'
import { StreamClientTransport } from '../../src/mcp/stream-transport.js'
import { connect } from 'node:net'
import { join } from 'node:path'

/**
 * Input requests translated between revisions by a node sharing two servers:
 * `legacy` (2025 revisions only: asks with elicitation/create requests) and
 * `modern` (2026-07-28 only: answers input_required). Clients of both
 * revisions call tools of both, over the node's local API socket.
 */

let home: string

beforeAll(async () => {
  home = (
    await createHome({
      config: {
        servers: {
          legacy: { command: NODE_BIN, args: [join(FIXTURES_DIR, 'conformance-server.mjs')], prefix: 'legacy.' },
          modern: modernServer()
        }
      }
    })
  ).dir
  await startDaemon({ home })
}, 60_000)

afterAll(cleanup)

async function client(revision: '2026-07-28' | '2025-11-25', elicitation: boolean): Promise<Client> {
  const socket = connect(join(home, 'api.sock'))
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const capabilities = elicitation ? { elicitation: {} } : {}
  const c =
    revision === '2026-07-28'
      ? new Client({ name: 'modern', version: '1' }, { capabilities, versionNegotiation: { mode: { pin: revision } } })
      : new Client({ name: 'old', version: '1' }, { capabilities, supportedProtocolVersions: [revision] })
  if (elicitation) {
    c.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }))
  }
  track(`client ${revision}`, async () => c.close().catch(() => {}))
  await c.connect(new StreamClientTransport(socket, socket))
  await waitFor(async () => (await c.listTools()).tools.some((tool) => tool.name === 'modern.ask_name'), {
    message: 'both servers shared'
  })
  return c
}

describe('input requests across revisions', () => {
  const cases = [
    ['2025 server', '2026-07-28 client', 'legacy.test_input_required_result_elicitation', '2026-07-28'],
    ['2026-07-28 server', '2025 client', 'modern.ask_name', '2025-11-25'],
    ['2026-07-28 server', '2026-07-28 client', 'modern.ask_name', '2026-07-28'],
    ['2025 server', '2025 client', 'legacy.test_input_required_result_elicitation', '2025-11-25']
  ] as const
  for (const [server, caller, tool, revision] of cases) {
    it(`a ${server} asks a ${caller}`, async () => {
      const c = await client(revision, true)
      const result = (await c.callTool({ name: tool, arguments: {} })) as CallToolResult
      expect(result.isError, JSON.stringify(result)).not.toBe(true)
      expect(resultText(result)).toBe('Hello, Ada!')
    })
  }

  it('a client without elicitation is told which capability the call needs (-32021)', async () => {
    const c = await client('2026-07-28', false)
    await expect(c.callTool({ name: 'legacy.test_missing_capability', arguments: {} })).rejects.toMatchObject({
      code: -32021
    })
  })
})
