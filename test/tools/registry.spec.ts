import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineTool } from '../../src/tools/define.js'
import { ToolRegistry, type ToolRegistryChange } from '../../src/tools/registry.js'
import { testTool } from '../helpers/tools.js'

function recordChanges(registry: ToolRegistry): ToolRegistryChange[] {
  const changes: ToolRegistryChange[] = []
  registry.addEventListener('change', (event) => changes.push(event.detail))
  return changes
}

describe('ToolRegistry', () => {
  it('registers, gets, lists and counts tools', () => {
    const registry = new ToolRegistry()
    const a = testTool('a')
    const b = testTool('b')
    registry.register(a)
    registry.register(b)
    expect(registry.get('a')).toBe(a)
    expect(registry.get('missing')).toBeUndefined()
    expect(registry.has('b')).toBe(true)
    expect(registry.list().map((t) => t.name)).toEqual(['a', 'b'])
    expect(registry.size).toBe(2)
  })

  it('refuses a duplicate name with DuplicateToolError and keeps the first tool', () => {
    const registry = new ToolRegistry()
    const first = testTool('dup')
    registry.register(first)
    let error: Error | undefined
    try {
      registry.register(testTool('dup'))
    } catch (err) {
      error = err as Error
    }
    expect(error?.name).toBe('DuplicateToolError')
    expect(registry.get('dup')).toBe(first)
    expect(registry.size).toBe(1)
  })

  it('registerAll is atomic: a duplicate inside the batch or against the registry adds nothing', () => {
    const registry = new ToolRegistry()
    registry.register(testTool('x'))
    const changes = recordChanges(registry)
    expect(() => registry.registerAll([testTool('y'), testTool('x')])).toThrow(
      expect.objectContaining({ name: 'DuplicateToolError' })
    )
    expect(() => registry.registerAll([testTool('z'), testTool('z')])).toThrow(
      expect.objectContaining({ name: 'DuplicateToolError' })
    )
    expect(registry.list().map((t) => t.name)).toEqual(['x'])
    expect(changes).toEqual([])
    registry.registerAll([testTool('y'), testTool('z')])
    expect(registry.size).toBe(3)
    expect(changes).toEqual([{ type: 'register', names: ['y', 'z'] }])
  })

  it('lists by runtime and by category', () => {
    const registry = new ToolRegistry()
    registry.registerAll([
      testTool('l1', { meta: { runtime: 'local', category: 'math' } }),
      testTool('m1', { meta: { runtime: 'mesh', category: 'math' } }),
      testTool('a1', { meta: { runtime: 'auto', category: 'text' } }),
      testTool('a2', { meta: { runtime: 'auto' } })
    ])
    expect(registry.listByRuntime('auto').map((t) => t.name)).toEqual(['a1', 'a2'])
    expect(registry.listByRuntime('mesh').map((t) => t.name)).toEqual(['m1'])
    expect(registry.listByCategory('math').map((t) => t.name)).toEqual(['l1', 'm1'])
    expect(registry.listByCategory('general').map((t) => t.name)).toEqual(['a2'])
    expect(registry.listByCategory('none')).toEqual([])
  })

  it('unregisters and clears (all, or by predicate), emitting change events', () => {
    const registry = new ToolRegistry()
    const changes = recordChanges(registry)
    registry.registerAll(['a', 'b', 'c', 'd'].map((n) => testTool(n, { meta: { category: n < 'c' ? 'ab' : 'cd' } })))
    expect(registry.unregister('a')).toBe(true)
    expect(registry.unregister('a')).toBe(false)
    expect(registry.clear((tool) => tool.meta.category === 'cd')).toBe(2)
    expect(registry.list().map((t) => t.name)).toEqual(['b'])
    expect(registry.clear()).toBe(1)
    expect(registry.clear()).toBe(0)
    expect(registry.size).toBe(0)
    expect(changes).toEqual([
      { type: 'register', names: ['a', 'b', 'c', 'd'] },
      { type: 'unregister', names: ['a'] },
      { type: 'clear', names: ['c', 'd'] },
      { type: 'clear', names: ['b'] }
    ])
  })

  it('emits a change for each register', () => {
    const registry = new ToolRegistry()
    const changes = recordChanges(registry)
    registry.register(testTool('one'))
    expect(changes).toEqual([{ type: 'register', names: ['one'] }])
  })

  it('reports stats by runtime, category and export', () => {
    const registry = new ToolRegistry()
    registry.registerAll([
      testTool('a', { meta: { runtime: 'auto', category: 'demo', export: true } }),
      testTool('b', { meta: { runtime: 'auto', category: 'demo', export: true } }),
      testTool('c', { meta: { runtime: 'mesh', category: 'admin' } }),
      testTool('d')
    ])
    expect(registry.stats()).toEqual({
      total: 4,
      byRuntime: { local: 1, mesh: 1, auto: 2 },
      byCategory: { demo: 2, admin: 1, general: 1 },
      exported: 2,
      notExported: 2
    })
    expect(registry.listExported().map((t) => t.name)).toEqual(['a', 'b'])
  })

  describe('validate()', () => {
    const compliantMeta = {
      category: 'demo',
      priority: 5,
      timeoutMs: 1_000,
      retry: { policy: 'none' as const, maxAttempts: 1 }
    }
    const compliant = defineTool({
      name: 'good',
      title: 'Good tool',
      description: 'a fully described tool',
      inputSchema: z.object({}),
      outputSchema: z.object({ ok: z.boolean() }),
      meta: compliantMeta,
      handler: async () => ({ ok: true })
    })

    it('is 100% for an empty registry and for compliant tools', () => {
      const registry = new ToolRegistry()
      expect(registry.validate()).toEqual({ total: 0, compliant: 0, compliance: 100, tools: [] })
      registry.register(compliant)
      expect(registry.validate()).toMatchObject({ total: 1, compliant: 1, compliance: 100 })
    })

    it('lists every issue of a non-compliant tool and computes the percentage', () => {
      const registry = new ToolRegistry()
      registry.register(compliant)
      registry.register(
        defineTool({
          name: 'bad',
          description: 'short',
          inputSchema: z.object({}),
          meta: { runtime: 'local', requiresP2P: true, retry: { policy: 'none', maxAttempts: 3 } },
          handler: async () => ({})
        })
      )
      registry.register(testTool('meh', { title: 'Meh', meta: compliantMeta }))
      const report = registry.validate()
      expect(report).toMatchObject({ total: 3, compliant: 1, compliance: 33.33 })
      const bad = report.tools.find((t) => t.name === 'bad')!
      expect(bad.compliant).toBe(false)
      expect(bad.issues).toEqual([
        'missing title',
        'description is shorter than 10 characters',
        'missing outputSchema',
        'meta.category is not declared',
        'meta.priority is not declared',
        'meta.timeoutMs is not declared',
        "meta.requiresP2P contradicts runtime 'local'",
        "meta.retry.maxAttempts > 1 has no effect with policy 'none'"
      ])
      expect(report.tools.find((t) => t.name === 'meh')!.issues).toEqual(['missing outputSchema'])
    })

    it('counts the built-in demo and status tools as compliant', async () => {
      const { demoTools, nodeTools } = await import('../../src/tools/builtin/index.js')
      const registry = new ToolRegistry()
      const node = {
        status: () => {
          throw new Error('unused')
        },
        health: async () => ({ healthy: true, checks: [] })
      }
      registry.registerAll([...demoTools(), ...nodeTools(node)])
      const report = registry.validate()
      expect(report.tools.filter((t) => !t.compliant)).toEqual([])
      expect(report.compliance).toBe(100)
    })
  })
})
