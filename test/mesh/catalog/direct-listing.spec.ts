import type { Tool as McpTool } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { advertOf } from '../../../src/mesh/catalog/direct-listing.js'
import { TOOL_META_KEY } from '../../../src/mcp/view.js'

const descriptor = (name: string, meta: Record<string, unknown> = {}): McpTool => ({
  name,
  inputSchema: { type: 'object', properties: {} },
  _meta: { [TOOL_META_KEY]: meta }
})

describe('a directly listed tool (a peer listing, not a signed record)', () => {
  it('is read like an advert entry, with defaults for what the listing does not say', () => {
    expect(advertOf(descriptor('echo', { tags: ['gpu'], priority: 7, timeoutMs: 5_000 }))).toMatchObject({
      name: 'echo',
      tags: ['gpu'],
      category: 'general',
      priority: 7,
      timeoutMs: 5_000
    })
    expect(advertOf(descriptor('plain'))).toMatchObject({ name: 'plain', priority: 5, timeoutMs: 30_000 })
  })

  it('is refused when no signed record could carry it: bad name, unbounded timeout, bad priority or tags', () => {
    expect(advertOf(descriptor('has space'))).toBeUndefined()
    expect(advertOf(descriptor('x'.repeat(129)))).toBeUndefined()
    expect(advertOf(descriptor('slow', { timeoutMs: 10 * 24 * 3_600_000 }))).toBeUndefined()
    expect(advertOf(descriptor('urgent', { priority: 1_000 }))).toBeUndefined()
    expect(advertOf(descriptor('tagged', { tags: ['t'.repeat(65)] }))).toBeUndefined()
    expect(advertOf(descriptor('many', { tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }))).toBeUndefined()
  })
})
