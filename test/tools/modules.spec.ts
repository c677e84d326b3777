import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadToolModule } from '../../src/tools/modules.js'
import { rejectionOf } from '../helpers/errors.js'
import { FIXTURES_DIR } from '../helpers/paths.js'
import { testContext } from '../helpers/tools.js'

const fixture = (name: string): string => join(FIXTURES_DIR, 'tools', name)

describe('loadToolModule', () => {
  it('turns exported specs (and arrays of specs) into tools, ignoring other exports', async () => {
    const path = fixture('text-tools.mjs')
    const tools = await loadToolModule(path)
    expect(tools.map((t) => t.name)).toEqual(['word_count', 'reverse'])
    const wordCount = tools[0]!
    expect(wordCount.source).toEqual({ kind: 'module', path })
    expect(wordCount.meta).toMatchObject({ category: 'text', priority: 4, timeoutMs: 1000 })
    expect(wordCount.outputSchema).toMatchObject({ type: 'object', properties: { words: { type: 'integer' } } })
    const result = await wordCount.invoke({ text: 'one two  three' }, testContext())
    expect(result.structuredContent).toEqual({ words: 3 })
  })

  it('re-labels tools exported ready-made by defineTool, keeping their schemas and handler', async () => {
    const path = fixture('predefined.mjs')
    const [triple, ...rest] = await loadToolModule(path)
    expect(rest).toEqual([])
    expect(triple).toMatchObject({ name: 'triple', title: 'Triple', source: { kind: 'module', path } })
    expect(triple!.meta).toMatchObject({ category: 'math', priority: 6 })
    expect([...triple!.declaredMeta].sort()).toEqual(['category', 'priority'])
    expect(triple!.inputSchema).toMatchObject({ type: 'object', properties: { n: { type: 'number' } } })
    expect(triple!.outputSchema).toMatchObject({ type: 'object' })
    expect((await triple!.invoke({ n: 2 }, testContext())).structuredContent).toEqual({ n: 6 })
  })

  it('fails with ToolModuleError for a missing module or one without tools', async () => {
    const missing = await rejectionOf(loadToolModule(fixture('does-not-exist.mjs')))
    expect(missing.name).toBe('ToolModuleError')
    expect(missing.message).toContain('does-not-exist.mjs')
    const empty = await rejectionOf(loadToolModule(fixture('no-tools.mjs')))
    expect(empty.name).toBe('ToolModuleError')
    expect(empty.message).toContain('exports no tools')
  })

  it('rejects a tool with invalid metadata, naming the field', async () => {
    const err = await rejectionOf(loadToolModule(fixture('bad-meta.mjs')))
    expect(err.name).toBe('ToolDefinitionError')
    expect(err.message).toContain('meta.priority')
  })
})
