import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { describeIssues, toJsonSchema } from '../../src/tools/json-schema.js'

describe('toJsonSchema', () => {
  it('drops $schema and keeps the draft-2020-12 shape', () => {
    const json = toJsonSchema(z.object({ a: z.string(), n: z.number().int().optional() }), 'input')
    expect(json).not.toHaveProperty('$schema')
    expect(json).toMatchObject({ type: 'object', properties: { a: { type: 'string' }, n: { type: 'integer' } } })
    expect(json.required).toEqual(['a'])
  })

  it('spells records of unknown values as additionalProperties: true, at any depth', () => {
    const json = toJsonSchema(
      z.object({ free: z.record(z.string(), z.unknown()), nested: z.array(z.record(z.string(), z.unknown())) }),
      'output'
    )
    const properties = json.properties as Record<string, Record<string, unknown>>
    expect(properties.free!.additionalProperties).toBe(true)
    expect((properties.nested!.items as Record<string, unknown>).additionalProperties).toBe(true)
    expect(JSON.stringify(json)).not.toContain('"additionalProperties":{}')
  })

  it('leaves closed and typed records alone', () => {
    const json = toJsonSchema(z.object({ counts: z.record(z.string(), z.number()) }), 'output')
    expect(json.additionalProperties).toBe(false)
    expect((json.properties as Record<string, Record<string, unknown>>).counts!.additionalProperties).toEqual({
      type: 'number'
    })
  })

  it('uses input defaults as optional and output defaults as required', () => {
    const schema = z.object({ mode: z.enum(['a', 'b']).default('a') })
    expect(toJsonSchema(schema, 'input').required).toBeUndefined()
    expect(toJsonSchema(schema, 'output').required).toEqual(['mode'])
  })
})

describe('describeIssues', () => {
  it('flattens issues to "path: message", with (root) for the top level', () => {
    const result = z
      .object({ a: z.object({ b: z.string() }) })
      .strict()
      .safeParse({ a: { b: 1 }, extra: true })
    expect(result.success).toBe(false)
    const issues = describeIssues(result.error!)
    expect(issues).toContainEqual(expect.stringMatching(/^a\.b: /))
    expect(issues).toContainEqual(expect.stringMatching(/^\(root\): .*extra/))
  })
})
