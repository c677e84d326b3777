import { connect } from 'node:net'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StreamClientTransport } from '../../src/mcp/stream-transport.js'
import {
  BIN_PATH,
  cleanup,
  createHome,
  LOOPBACK_ARGS,
  NODE_BIN,
  REPO_ROOT,
  startDaemon,
  track
} from '../helpers/index.js'

/**
 * Every revision on the node's real stdio endpoint (the `mcp-mesh start`
 * process) and on its local API socket (a daemon): 2026-07-28 clients and
 * 2025-11-25, 2025-06-18 and 2025-03-26 clients alike.
 */

const REVISIONS = ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26'] as const

function client(revision: string): Client {
  const c =
    revision === '2026-07-28'
      ? new Client({ name: 'modern', version: '1' }, { versionNegotiation: { mode: { pin: revision } } })
      : new Client({ name: 'old', version: '1' }, { supportedProtocolVersions: [revision] })
  track(`client ${revision}`, async () => c.close().catch(() => {}))
  return c
}

async function exercise(c: Client, revision: string): Promise<void> {
  expect(c.getNegotiatedProtocolVersion()).toBe(revision)
  expect((await c.listTools()).tools.map((tool) => tool.name)).toContain('echo')
  const echoed = (await c.callTool({ name: 'echo', arguments: { message: revision } })) as CallToolResult
  expect(echoed.structuredContent).toEqual({ message: revision })
  const bad = (await c.callTool({ name: 'task_status', arguments: { id: 'nope' } })) as CallToolResult
  expect(bad.isError).toBe(true)
}

afterAll(cleanup)

describe('revisions on the stdio endpoint (mcp-mesh start)', () => {
  for (const revision of REVISIONS) {
    it(`serves a ${revision} client`, async () => {
      const home = await createHome()
      const c = client(revision)
      await c.connect(
        new StdioClientTransport({
          command: NODE_BIN,
          args: [BIN_PATH, 'start', '--home', home.dir, ...LOOPBACK_ARGS],
          cwd: REPO_ROOT,
          stderr: 'ignore'
        })
      )
      await exercise(c, revision)
    }, 60_000)
  }
})

describe('revisions on the local API socket', () => {
  let home: string

  beforeAll(async () => {
    home = (await createHome()).dir
    await startDaemon({ home })
  }, 60_000)

  for (const revision of REVISIONS) {
    it(`serves a ${revision} client`, async () => {
      const socket = connect(join(home, 'api.sock'))
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve)
        socket.once('error', reject)
      })
      const c = client(revision)
      await c.connect(new StreamClientTransport(socket, socket))
      await exercise(c, revision)
    })
  }
})
