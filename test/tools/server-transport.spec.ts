import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/client'
import { describe, expect, it } from 'vitest'
import { BatchedStdioClientTransport } from '../../src/tools/server-transport.js'
import { FIXTURES_DIR, NODE_BIN } from '../helpers/index.js'

describe('BatchedStdioClientTransport', () => {
  it("sends the messages of one turn to the server in one write, and the server's answers come back", async () => {
    const transport = new BatchedStdioClientTransport({
      command: NODE_BIN,
      args: [join(FIXTURES_DIR, 'servers', 'env-server.mjs')],
      stderr: 'ignore'
    })
    const client = new Client({ name: 'test', version: '1.0.0' })
    await client.connect(transport)
    try {
      const stdin = (transport as unknown as { _process: ChildProcess })._process.stdin as unknown as {
        _write: (...args: unknown[]) => void
        _writev: (...args: unknown[]) => void
      }
      let writes = 0
      for (const method of ['_write', '_writev'] as const) {
        const original = stdin[method].bind(stdin)
        stdin[method] = (...args: unknown[]) => {
          writes++
          original(...args)
        }
      }
      const calls = 20
      const results = await Promise.all(
        Array.from({ length: calls }, () => client.callTool({ name: 'read_env', arguments: { names: ['PATH'] } }))
      )
      expect(results.every((result) => result.isError !== true)).toBe(true)
      // One write per turn, not one per message (the SDK's transport made `calls` writes here).
      expect(writes).toBeGreaterThan(0)
      expect(writes).toBeLessThanOrEqual(2)
    } finally {
      await client.close()
    }
  })
})
