import { type CallToolResult, SERVER_INFO_META_KEY } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { withoutServerInfo } from '../../src/mesh/result-meta.js'

const info = { name: 'worker', version: '1.0.0' }

describe('withoutServerInfo', () => {
  it('returns a result without serverInfo as it is', () => {
    const plain: CallToolResult = { content: [{ type: 'text', text: 'x' }], _meta: { other: 1 } }
    expect(withoutServerInfo(plain)).toBe(plain)
    const bare: CallToolResult = { content: [] }
    expect(withoutServerInfo(bare)).toBe(bare)
  })

  it('drops serverInfo and keeps the rest of _meta', () => {
    const result: CallToolResult = {
      content: [{ type: 'text', text: 'x' }],
      structuredContent: { n: 1 },
      _meta: { [SERVER_INFO_META_KEY]: info, other: 1 }
    }
    expect(withoutServerInfo(result)).toEqual({
      content: [{ type: 'text', text: 'x' }],
      structuredContent: { n: 1 },
      _meta: { other: 1 }
    })
    // The peer's result is not changed.
    expect(result._meta).toHaveProperty([SERVER_INFO_META_KEY])
  })

  it('drops an _meta that held serverInfo alone', () => {
    const result: CallToolResult = { content: [], isError: true, _meta: { [SERVER_INFO_META_KEY]: info } }
    expect(withoutServerInfo(result)).toEqual({ content: [], isError: true })
  })
})
