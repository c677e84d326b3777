// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} in strings is the workflow template syntax under test
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { workflowJsonSchema } from '../../src/workflow/document.js'
import { findCycles, renderDot, renderMermaid, topologicalOrder } from '../../src/workflow/graph.js'
import { collectReferences, parseReference, parseTemplate, resolveValue } from '../../src/workflow/refs.js'
import type { WorkflowProblem } from '../../src/workflow/types.js'
import { missingField, type ToolShape, validateWorkflow } from '../../src/workflow/validate.js'
import { REPO_ROOT } from '../helpers/index.js'

const SHAPES: Record<string, ToolShape> = {
  fetch: {
    inputSchema: { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] },
    outputSchema: {
      type: 'object',
      properties: {
        text: { type: 'string' },
        links: {
          type: 'array',
          items: { type: 'object', properties: { href: { type: 'string' } }, additionalProperties: false }
        }
      },
      additionalProperties: false
    }
  },
  echo: { outputSchema: { type: 'object', additionalProperties: true } },
  open: {}
}

function problems(document: unknown, options: Parameters<typeof validateWorkflow>[1] = {}): WorkflowProblem[] {
  const result = validateWorkflow(document, { describeTool: (name) => SHAPES[name], ...options })
  if (result.ok) throw new Error('expected the document to be rejected')
  return result.problems
}

describe('workflow references', () => {
  it('parses the reference roots and paths', () => {
    expect(parseReference('steps.fetch.output.links[0].href')).toEqual({
      kind: 'step',
      expression: 'steps.fetch.output.links[0].href',
      step: 'fetch',
      path: ['links', 0, 'href']
    })
    expect(parseReference('inputs.url')).toMatchObject({ kind: 'input', name: 'url', path: [] })
    expect(parseReference('item.a.0')).toMatchObject({ kind: 'item', path: ['a', '0'] })
    expect(parseReference('index')).toMatchObject({ kind: 'index' })
    expect(parseReference('workflow.id')).toMatchObject({ kind: 'workflow', field: 'id' })
    expect(parseReference('steps.fetch.text')).toMatch(/bad reference "steps.fetch.text": expected steps.<id>.output/)
    expect(parseReference('steps..output')).toMatch(/bad reference/)
    expect(parseReference('env.HOME')).toMatch(/bad reference/)
  })

  it('splits templates, with $${ as a literal', () => {
    expect(parseTemplate('a ${steps.x.output} b $${not}')).toEqual([
      { text: 'a ' },
      { expression: 'steps.x.output' },
      { text: ' b ${not}' }
    ])
    expect(parseTemplate('oops ${unterminated')).toMatch(/unterminated/)
  })

  it('resolves values: refs keep types, mixed templates become text, $literal is verbatim', () => {
    const scope = {
      step: 's',
      stepOutput: (id: string) =>
        id === 'a'
          ? { ok: true as const, value: { n: 3, list: [1, 2], o: { k: 'v' } } }
          : { ok: false as const, reason: `step "${id}" is pending` },
      inputs: { who: 'world' },
      workflow: { id: 'wf-1', name: 'test' },
      item: { value: { x: 7 }, index: 2 }
    }
    expect(
      resolveValue(
        {
          n: { $ref: 'steps.a.output.n' },
          whole: '${steps.a.output.list}',
          text: 'n=${steps.a.output.n} o=${steps.a.output.o} hi ${inputs.who} #${index} ${item.x}',
          nested: [{ deep: { $ref: 'steps.a.output.list.1' } }],
          literal: { $literal: { $ref: 'not.a.ref', t: '${x}' } },
          id: '${workflow.id}'
        },
        scope
      )
    ).toEqual({
      n: 3,
      whole: [1, 2],
      text: 'n=3 o={"k":"v"} hi world #2 7',
      nested: [{ deep: 2 }],
      literal: { $ref: 'not.a.ref', t: '${x}' },
      id: 'wf-1'
    })
    expect(() => resolveValue({ $ref: 'steps.a.output.list.5' }, scope)).toThrow(/index 5 is out of range/)
    expect(() => resolveValue({ $ref: 'steps.b.output' }, scope)).toThrow(
      'step "s": cannot resolve steps.b.output: step "b" is pending'
    )
  })

  it('collects references with their locations', () => {
    const found = collectReferences(
      { a: [{ $ref: 'steps.x.output' }], 'odd key': 'x ${inputs.y}', bad: { $ref: 1 } },
      'args'
    )
    expect(found.map((f) => f.at)).toEqual(['args.a[0]', 'args["odd key"]', 'args.bad'])
    expect(found[2]?.error).toMatch(/exactly one string field/)
  })
})

describe('workflow validation', () => {
  it('accepts a valid document and derives dependencies from references', () => {
    const result = validateWorkflow(
      {
        name: 'ok',
        inputs: { url: 'http://x' },
        steps: [
          { id: 'fetch', tool: 'fetch', args: { url: '${inputs.url}' } },
          { id: 'each', tool: 'echo', forEach: 'steps.fetch.output.links', args: { href: { $ref: 'item.href' } } },
          {
            id: 'last',
            tool: 'echo',
            args: { first: { $ref: 'steps.each.output.0.anything' }, t: '${steps.fetch.output.text}' }
          }
        ]
      },
      { describeTool: (name) => SHAPES[name] }
    )
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.plan.byId.get('each')?.deps).toEqual(['fetch'])
    expect(result.plan.byId.get('last')?.deps).toEqual(['fetch', 'each'])
    expect(result.plan.sinks).toEqual(['last'])
    expect(result.plan.order).toEqual(['fetch', 'each', 'last'])
  })

  it('rejects a cycle, printing the cycle path and naming the step', () => {
    const found = problems({
      name: 'loop',
      steps: [
        { id: 'a', tool: 'echo', args: { x: { $ref: 'steps.c.output' } } },
        { id: 'b', tool: 'echo', dependsOn: ['a'] },
        { id: 'c', tool: 'echo', args: { y: '${steps.b.output}' } },
        { id: 'self', tool: 'echo', dependsOn: ['self'] }
      ]
    })
    expect(found).toHaveLength(2)
    expect(found[0]).toMatchObject({ code: 'cycle', step: 'a', cycle: ['a', 'b', 'c', 'a'] })
    expect(found[0]?.message).toBe('step "a": dependency cycle a -> b -> c -> a (each step needs the one before it)')
    expect(found[1]?.message).toBe('step "self": depends on itself')
  })

  it('lists every problem at once, each naming its step', () => {
    const found = problems({
      name: 'many',
      steps: [
        { id: 'fetch', tool: 'fetch', args: {} },
        { id: 'x', tool: 'nope', dependsOn: ['ghost'] },
        {
          id: 'y',
          tool: 'echo',
          args: { a: { $ref: 'steps.missing.output' }, b: { $ref: 'steps.fetch.output.txt' }, c: '${inputs.q}' }
        },
        { id: 'z', tool: 'echo', args: { i: { $ref: 'item' }, bad: { $ref: 'steps.fetch' } } },
        { id: 'fetch', tool: 'echo' },
        { id: 'p', tool: 'echo', placement: { peer: 'not-a-peer' } },
        { id: 'deep', tool: 'echo', args: { h: { $ref: 'steps.fetch.output.links.0.hrf' } } }
      ]
    })
    const messages = found.map((p) => p.message)
    expect(messages).toContain('step "fetch": id is used more than once (steps[0] and steps[4])')
    expect(messages).toContain('step "x": dependsOn "ghost", but no step has that id')
    expect(messages).toContain('step "y": args.a references steps.missing.output, but no step "missing" exists')
    expect(messages).toContain('step "y": args.c references inputs.q, but the workflow has no input "q"')
    expect(messages).toContain('step "z": args.i uses item, which exists only in the args of a forEach step')
    expect(messages.some((m) => m.startsWith('step "z": args.bad: bad reference "steps.fetch"'))).toBe(true)
    expect(messages).toContain(
      'step "x": unknown tool "nope": no node of the mesh offers it (set allowUnknownTools to accept it)'
    )
    expect(messages).toContain('step "fetch": tool "fetch" requires argument "url"')
    expect(messages).toContain(
      'step "y": args.b references steps.fetch.output.txt, but the output of step "fetch" (tool "fetch") has no field "txt"'
    )
    expect(messages).toContain(
      'step "deep": args.h references steps.fetch.output.links.0.hrf, but the output of step "fetch" (tool "fetch") has no field "hrf"'
    )
    expect(messages).toContain('step "p": placement.peer "not-a-peer" is not a peer ID')
    expect(found.every((p) => p.step != null)).toBe(true)
  })

  it('accepts unknown tools only with allowUnknownTools', () => {
    const document = { name: 'u', steps: [{ id: 'a', tool: 'later_tool' }] }
    expect(problems(document).map((p) => p.code)).toEqual(['unknown-tool'])
    expect(validateWorkflow(document, { describeTool: () => undefined, allowUnknownTools: true }).ok).toBe(true)
  })

  it('reports schema errors with the step id and field', () => {
    const found = problems({
      name: '',
      onFailure: 'sometimes',
      steps: [
        { id: 'ok', tool: 'echo', retry: { policy: 'often' } },
        { id: 'has.dot', tool: 'echo' },
        { tool: 'echo' }
      ],
      extra: 1
    })
    const messages = found.map((p) => p.message)
    expect(found.every((p) => p.code === 'schema')).toBe(true)
    expect(messages.some((m) => m.startsWith('workflow: name:'))).toBe(true)
    expect(messages.some((m) => m.startsWith('workflow: onFailure:'))).toBe(true)
    expect(messages.some((m) => m.startsWith('step "ok": retry.policy:'))).toBe(true)
    expect(messages.some((m) => m.startsWith('step "has.dot": id: must start with a letter'))).toBe(true)
    expect(messages.some((m) => m.startsWith('steps[2]: id:'))).toBe(true)
    expect(messages.some((m) => m.includes('extra'))).toBe(true)
    expect(problems('{not json')[0]?.message).toMatch(/^workflow: not valid JSON/)
  })

  it('checks fields against output schemas, leniently where they are open', () => {
    const schema = SHAPES.fetch!.outputSchema!
    expect(missingField(schema, ['text'])).toBeUndefined()
    expect(missingField(schema, ['links', 0, 'href'])).toBeUndefined()
    expect(missingField(schema, ['links', 'href'])).toBe('href')
    expect(missingField(schema, ['nope'])).toBe('nope')
    expect(missingField({ type: 'object', additionalProperties: true, properties: { a: {} } }, ['b'])).toBeUndefined()
    expect(
      missingField(
        { anyOf: [{ type: 'object', properties: { a: {} }, additionalProperties: false }, { type: 'object' }] },
        ['b']
      )
    ).toBeUndefined()
    expect(
      missingField(
        { $defs: { x: { type: 'object', properties: { a: {} }, additionalProperties: false } }, $ref: '#/$defs/x' },
        ['b']
      )
    ).toBe('b')
  })

  it('publishes a JSON Schema that matches the validator (schemas/workflow.schema.json)', async () => {
    const published = JSON.parse(await readFile(join(REPO_ROOT, 'schemas', 'workflow.schema.json'), 'utf8')) as unknown
    expect(published).toEqual(workflowJsonSchema())
  })
})

describe('workflow graph', () => {
  const deps: Record<string, string[]> = { a: [], b: ['a'], c: ['a'], d: ['b', 'c'] }

  it('orders topologically and finds no cycle in a diamond', () => {
    expect(topologicalOrder(['d', 'c', 'b', 'a'], (id) => deps[id]!)).toEqual(['a', 'c', 'b', 'd'])
    expect(findCycles(Object.keys(deps), (id) => deps[id]!)).toEqual([])
  })

  it('handles a 10,000-step chain without overflowing the stack', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `s${i}`)
    const chainDeps = (id: string): string[] => (id === 's0' ? [] : [`s${Number(id.slice(1)) - 1}`])
    expect(findCycles(ids, chainDeps)).toEqual([])
    expect(topologicalOrder([...ids].reverse(), chainDeps)[9_999]).toBe('s9999')
  })

  it('renders dot and mermaid', () => {
    const graph = {
      name: 'diamond "x"',
      nodes: [
        { id: 'a', tool: 'echo', state: 'succeeded' },
        { id: 'b', tool: 'sha256', forEach: true, state: 'running' },
        { id: 'c', tool: 'echo' },
        { id: 'd', tool: 'echo' }
      ],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'a', to: 'c' },
        { from: 'b', to: 'd' },
        { from: 'c', to: 'd' }
      ]
    }
    const dot = renderDot(graph)
    expect(dot).toContain('digraph "diamond \\"x\\"" {')
    expect(dot).toContain('"b" [label="b\\nsha256 (forEach)\\nrunning", fillcolor=lightblue];')
    expect(dot).toContain('"a" -> "b";')
    const mermaid = renderMermaid(graph)
    expect(mermaid.split('\n')[0]).toBe('flowchart LR')
    expect(mermaid).toContain('s0["a<br/>echo<br/>succeeded"]:::succeeded')
    expect(mermaid).toContain('s1 --> s3')
    expect(mermaid).toContain('classDef failed fill:salmon')
  })
})
