import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineTool, parseToolMeta } from '../../src/tools/define.js'
import type { InvalidToolArgumentsError, ToolDefinitionError } from '../../src/tools/errors.js'
import { DEFAULT_PRIORITY, DEFAULT_TIMEOUT_MS, type ToolMetaInput } from '../../src/tools/meta.js'
import { rejectionOf, thrownBy } from '../helpers/errors.js'
import { resultText, testContext } from '../helpers/tools.js'

function define(name: string, meta?: unknown): ReturnType<typeof defineTool> {
  return defineTool({
    name,
    description: 'a tool under test',
    inputSchema: z.object({}),
    meta: meta as ToolMetaInput,
    handler: async () => ({})
  })
}

/** Runs `fn` and returns the ToolDefinitionError it throws. */
function definitionError(fn: () => unknown): ToolDefinitionError {
  const err = thrownBy<ToolDefinitionError>(fn)
  expect(err.name).toBe('ToolDefinitionError')
  return err
}

describe('tool metadata validation', () => {
  it.each([11, -1, 2.5, '5', null])('rejects priority %j, naming meta.priority', (priority) => {
    const err = definitionError(() => define('t', { priority }))
    expect(err.field).toBe('meta.priority')
    expect(err.tool).toBe('t')
    expect(err.message).toContain('meta.priority')
  })

  it('accepts the priority bounds 0 and 10', () => {
    expect(define('lo', { priority: 0 }).meta.priority).toBe(0)
    expect(define('hi', { priority: 10 }).meta.priority).toBe(10)
  })

  it('rejects an unknown retry policy, naming meta.retry.policy', () => {
    const err = definitionError(() => define('t', { retry: { policy: 'fibonacci' } }))
    expect(err.field).toBe('meta.retry.policy')
  })

  it.each(['none', 'linear', 'exponential'])('accepts retry policy %s', (policy) => {
    expect(define('t', { retry: { policy, maxAttempts: 2 } }).meta.retry.policy).toBe(policy)
  })

  it('rejects an unknown runtime, naming meta.runtime', () => {
    expect(definitionError(() => define('t', { runtime: 'cloud' })).field).toBe('meta.runtime')
  })

  it.each([0, -1, 1.5])('rejects timeoutMs %j, naming meta.timeoutMs', (timeoutMs) => {
    expect(definitionError(() => define('t', { timeoutMs })).field).toBe('meta.timeoutMs')
  })

  it('rejects retry.maxAttempts below 1 and unknown hint levels with their paths', () => {
    expect(definitionError(() => define('t', { retry: { maxAttempts: 0 } })).field).toBe('meta.retry.maxAttempts')
    expect(definitionError(() => define('t', { hints: { cpu: 'extreme' } })).field).toBe('meta.hints.cpu')
  })

  it('rejects unknown metadata keys', () => {
    const err = definitionError(() => define('t', { priorty: 3 }))
    expect(err.field).toBe('meta')
    expect(err.message).toContain('priorty')
  })

  it.each(['', 'has space', 'a'.repeat(129), 'slash/name', 'ünicode', 'tab\tname', 'semi;colon'])(
    'rejects tool name %j, naming the name field',
    (name) => {
      expect(definitionError(() => define(name)).field).toBe('name')
    }
  )

  it.each(['a', 'A.b_c-D9', 'x'.repeat(128), 'everything.echo', 'mesh_status'])('accepts tool name %j', (name) => {
    expect(define(name).name).toBe(name)
  })

  it('requires a description, a zod input schema and a handler', () => {
    const base = { name: 't', description: 'ok tool', inputSchema: z.object({}), handler: async () => ({}) }
    expect(definitionError(() => defineTool({ ...base, description: '  ' })).field).toBe('description')
    expect(
      definitionError(() => defineTool({ ...base, inputSchema: {} as unknown as z.ZodObject<z.ZodRawShape> })).field
    ).toBe('inputSchema')
    expect(
      definitionError(() => defineTool({ ...base, handler: undefined as unknown as typeof base.handler })).field
    ).toBe('handler')
  })

  it('fills defaults and remembers which fields were declared', () => {
    const tool = define('t', { category: 'math', priority: 7 })
    expect(tool.meta).toMatchObject({
      runtime: 'local',
      requiresP2P: false,
      category: 'math',
      priority: 7,
      timeoutMs: DEFAULT_TIMEOUT_MS,
      retry: { policy: 'none', maxAttempts: 1 },
      tags: [],
      export: false
    })
    expect([...tool.declaredMeta].sort()).toEqual(['category', 'priority'])
    expect(define('d').meta.priority).toBe(DEFAULT_PRIORITY)
  })

  it('parseToolMeta reports the tool name and field in the message', () => {
    expect(() => parseToolMeta('my_tool', { timeoutMs: -5 } as ToolMetaInput)).toThrow(
      /tool "my_tool": meta\.timeoutMs/
    )
  })
})

describe('defined tools', () => {
  const tool = defineTool({
    name: 'greet',
    title: 'Greet',
    description: 'greets someone',
    inputSchema: z.object({ who: z.string().describe('Who to greet'), loud: z.boolean().default(false) }),
    outputSchema: z.object({ greeting: z.string() }),
    handler: async ({ who, loud }) => ({ greeting: loud ? `HELLO ${who.toUpperCase()}` : `hello ${who}` })
  })

  it('advertises JSON schemas without $schema, with defaults and descriptions', () => {
    expect(tool.inputSchema).toMatchObject({
      type: 'object',
      properties: { who: { type: 'string', description: 'Who to greet' }, loud: { type: 'boolean', default: false } },
      required: ['who']
    })
    expect(tool.inputSchema).not.toHaveProperty('$schema')
    expect(tool.outputSchema).toMatchObject({ type: 'object', properties: { greeting: { type: 'string' } } })
    expect(tool.outputSchema).not.toHaveProperty('$schema')
    // Built once, then reused.
    expect(tool.inputSchema).toBe(tool.inputSchema)
  })

  it('returns structured output plus a JSON text block', async () => {
    const result = await tool.invoke({ who: 'ada' }, testContext())
    expect(result.structuredContent).toEqual({ greeting: 'hello ada' })
    expect(JSON.parse(resultText(result))).toEqual({ greeting: 'hello ada' })
    expect(result.isError).toBeUndefined()
  })

  it('throws InvalidToolArgumentsError naming the bad field', async () => {
    const err = await rejectionOf<InvalidToolArgumentsError>(tool.invoke({ who: 42 }, testContext()))
    expect(err.name).toBe('InvalidToolArgumentsError')
    expect(err.issues.join()).toContain('who')
  })

  it('turns a throwing handler into an isError result', async () => {
    const failing = defineTool({
      name: 'fail',
      description: 'always fails',
      inputSchema: z.object({}),
      handler: async () => {
        throw new Error('boom')
      }
    })
    const result = await failing.invoke({}, testContext())
    expect(result.isError).toBe(true)
    expect(resultText(result)).toBe('boom')
  })

  it('reports output that does not match outputSchema as an error', async () => {
    const liar = defineTool({
      name: 'liar',
      description: 'breaks its contract',
      inputSchema: z.object({}),
      outputSchema: z.object({ n: z.number() }),
      handler: async () => ({ n: 'not a number' }) as unknown as { n: number }
    })
    const result = await liar.invoke({}, testContext())
    expect(result.isError).toBe(true)
    expect(resultText(result)).toContain('outputSchema')
  })

  it('passes strings and full MCP results through', async () => {
    const text = defineTool({
      name: 'text',
      description: 'returns text',
      inputSchema: z.object({}),
      handler: async () => 'plain'
    })
    expect(await text.invoke({}, testContext())).toEqual({ content: [{ type: 'text', text: 'plain' }] })
    const full = defineTool({
      name: 'full',
      description: 'returns a result',
      inputSchema: z.object({}),
      handler: async () => ({ content: [{ type: 'text' as const, text: 'x' }], isError: true })
    })
    expect(await full.invoke({}, testContext())).toEqual({ content: [{ type: 'text', text: 'x' }], isError: true })
  })
})
