/**
 * References inside step arguments. Three spellings:
 *  - `{"$ref": "steps.fetch.output.text"}`: replaced by the value, of any type;
 *  - `"Hello ${inputs.name}, ${steps.a.output.count} items"`: a template; a
 *    string that is exactly one `${…}` keeps the value's type, otherwise each
 *    value is inserted as text (JSON for non-strings). `$${` is a literal `${`;
 *  - `{"$literal": v}`: v verbatim, with no reference processing inside.
 *
 * Expressions: `steps.<id>.output[<path>]`, `inputs.<name>[<path>]`,
 * `item[<path>]` and `index` (forEach steps), `workflow.id`, `workflow.name`.
 * A path is `.field`, `.0` or `[0]` segments.
 */
import { WorkflowReferenceError } from './errors.js'
import { isPlainObject } from '../util/object.js'

export type PathSegment = string | number

export type Reference =
  | { kind: 'step'; expression: string; step: string; path: PathSegment[] }
  | { kind: 'input'; expression: string; name: string; path: PathSegment[] }
  | { kind: 'item'; expression: string; path: PathSegment[] }
  | { kind: 'index'; expression: string }
  | { kind: 'workflow'; expression: string; field: 'id' | 'name' }

/** A reference found in a document, with where it was found (`args.text`). */
export interface LocatedReference {
  at: string
  ref?: Reference
  /** Set when the expression does not parse. */
  error?: string
  expression: string
}

const SEGMENT = /\.?([A-Za-z0-9_$-]+)|\[(\d+)\]/y

export function tokenize(expression: string): PathSegment[] | string {
  const out: PathSegment[] = []
  SEGMENT.lastIndex = 0
  let position = 0
  while (position < expression.length) {
    SEGMENT.lastIndex = position
    const match = SEGMENT.exec(expression)
    if (match == null || (position === 0 && match[0].startsWith('.'))) {
      return `unexpected "${expression.slice(position, position + 10)}" at position ${position}`
    }
    if (position > 0 && match[1] != null && !match[0].startsWith('.')) {
      return `expected "." or "[" at position ${position}`
    }
    out.push(match[2] != null ? Number(match[2]) : match[1]!)
    position = SEGMENT.lastIndex
  }
  if (out.length === 0) return 'empty expression'
  return out
}

/** Parses an expression; returns a message when it is not one. */
export function parseReference(expression: string): Reference | string {
  const tokens = tokenize(expression.trim())
  if (typeof tokens === 'string') return `bad reference "${expression}": ${tokens}`
  const [root, ...rest] = tokens
  const usage =
    'expected steps.<id>.output[.<path>], inputs.<name>[.<path>], item[.<path>], index, workflow.id or workflow.name'
  switch (root) {
    case 'steps': {
      const [step, output, ...path] = rest
      if (typeof step !== 'string' || output !== 'output') return `bad reference "${expression}": ${usage}`
      return { kind: 'step', expression, step, path }
    }
    case 'inputs': {
      const [name, ...path] = rest
      if (typeof name !== 'string') return `bad reference "${expression}": ${usage}`
      return { kind: 'input', expression, name, path }
    }
    case 'item':
      return { kind: 'item', expression, path: rest }
    case 'index':
      if (rest.length > 0) return `bad reference "${expression}": index has no fields`
      return { kind: 'index', expression }
    case 'workflow': {
      const [field, ...more] = rest
      if ((field !== 'id' && field !== 'name') || more.length > 0) return `bad reference "${expression}": ${usage}`
      return { kind: 'workflow', expression, field }
    }
    default:
      return `bad reference "${expression}": ${usage}`
  }
}

type TemplatePart = { text: string } | { expression: string }

/** Splits a template string into text and `${…}` expressions; `$${` is a literal `${`. */
export function parseTemplate(value: string): TemplatePart[] | string {
  const parts: TemplatePart[] = []
  let text = ''
  let i = 0
  while (i < value.length) {
    if (value.startsWith('$${', i)) {
      text += '${'
      i += 3
    } else if (value.startsWith('${', i)) {
      const end = value.indexOf('}', i + 2)
      if (end < 0) return `unterminated "\${" at position ${i}`
      if (text !== '') parts.push({ text })
      text = ''
      parts.push({ expression: value.slice(i + 2, end).trim() })
      i = end + 1
    } else {
      text += value[i]
      i++
    }
  }
  if (text !== '') parts.push({ text })
  return parts
}

function isRefObject(value: Record<string, unknown>): boolean {
  return Object.hasOwn(value, '$ref')
}

function isLiteralObject(value: Record<string, unknown>): boolean {
  return Object.hasOwn(value, '$literal') && Object.keys(value).length === 1
}

function childPath(at: string, key: string | number): string {
  if (typeof key === 'number') return `${at}[${key}]`
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`
}

/** Every reference in `value` (arguments, a forEach source or the document's `output`), with its location. */
export function collectReferences(value: unknown, at: string, out: LocatedReference[] = []): LocatedReference[] {
  if (typeof value === 'string') {
    if (!value.includes('${')) return out
    const parts = parseTemplate(value)
    if (typeof parts === 'string') {
      out.push({ at, expression: value, error: `bad template "${value}": ${parts}` })
      return out
    }
    for (const part of parts) {
      if (!('expression' in part)) continue
      const ref = parseReference(part.expression)
      out.push(
        typeof ref === 'string'
          ? { at, expression: part.expression, error: ref }
          : { at, expression: part.expression, ref }
      )
    }
    return out
  }
  if (Array.isArray(value)) {
    for (const [index, element] of value.entries()) collectReferences(element, childPath(at, index), out)
    return out
  }
  if (!isPlainObject(value)) return out
  if (isLiteralObject(value)) return out
  if (isRefObject(value)) {
    const expression = value.$ref
    if (typeof expression !== 'string' || Object.keys(value).length !== 1) {
      out.push({
        at,
        expression: String(expression),
        error: 'a {"$ref": …} object must hold exactly one string field, $ref (use {"$literal": …} for a literal $ref)'
      })
      return out
    }
    const ref = parseReference(expression)
    out.push(typeof ref === 'string' ? { at, expression, error: ref } : { at, expression, ref })
    return out
  }
  for (const [key, element] of Object.entries(value)) collectReferences(element, childPath(at, key), out)
  return out
}

/** What references resolve against when a step is about to run. */
export interface ReferenceScope {
  step: string
  /** Output of a succeeded step; `undefined` when it has none (yet). */
  stepOutput(id: string): { ok: true; value: unknown } | { ok: false; reason: string }
  inputs: Record<string, unknown>
  workflow: { id: string; name: string }
  item?: { value: unknown; index: number }
}

function walk(value: unknown, path: PathSegment[], scope: ReferenceScope, expression: string): unknown {
  let current = value
  const seen: string[] = []
  for (const segment of path) {
    if (Array.isArray(current)) {
      const index = typeof segment === 'number' ? segment : /^\d+$/.test(segment) ? Number(segment) : Number.NaN
      if (!Number.isInteger(index)) {
        throw new WorkflowReferenceError(
          scope.step,
          expression,
          `"${seen.join('.') || 'value'}" is an array; "${segment}" is not an index`
        )
      }
      if (index >= current.length) {
        throw new WorkflowReferenceError(
          scope.step,
          expression,
          `index ${index} is out of range (length ${current.length})`
        )
      }
      current = current[index]
    } else if (isPlainObject(current) && Object.hasOwn(current, String(segment))) {
      current = current[String(segment)]
    } else {
      const where = seen.length === 0 ? 'the value' : `"${seen.join('.')}"`
      throw new WorkflowReferenceError(scope.step, expression, `field "${segment}" not found in ${where}`)
    }
    seen.push(String(segment))
  }
  return current
}

export function resolveReference(ref: Reference, scope: ReferenceScope): unknown {
  switch (ref.kind) {
    case 'step': {
      const output = scope.stepOutput(ref.step)
      if (!output.ok) throw new WorkflowReferenceError(scope.step, ref.expression, output.reason)
      return walk(output.value, ref.path, scope, ref.expression)
    }
    case 'input':
      if (!Object.hasOwn(scope.inputs, ref.name)) {
        throw new WorkflowReferenceError(scope.step, ref.expression, `no input "${ref.name}"`)
      }
      return walk(scope.inputs[ref.name], ref.path, scope, ref.expression)
    case 'item':
      if (scope.item == null)
        throw new WorkflowReferenceError(scope.step, ref.expression, 'item exists only in forEach steps')
      return walk(scope.item.value, ref.path, scope, ref.expression)
    case 'index':
      if (scope.item == null)
        throw new WorkflowReferenceError(scope.step, ref.expression, 'index exists only in forEach steps')
      return scope.item.index
    case 'workflow':
      return scope.workflow[ref.field]
  }
}

function resolveExpression(expression: string, scope: ReferenceScope): unknown {
  const ref = parseReference(expression)
  if (typeof ref === 'string') throw new WorkflowReferenceError(scope.step, expression, ref)
  return resolveReference(ref, scope)
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value
  if (value === undefined) return ''
  return JSON.stringify(value)
}

/** A copy of `value` with every reference and template replaced by its value. */
export function resolveValue(value: unknown, scope: ReferenceScope): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value
    const parts = parseTemplate(value)
    if (typeof parts === 'string') throw new WorkflowReferenceError(scope.step, value, parts)
    const only = parts.length === 1 ? parts[0] : undefined
    if (only != null && 'expression' in only) return resolveExpression(only.expression, scope)
    return parts
      .map((part) => ('expression' in part ? asText(resolveExpression(part.expression, scope)) : part.text))
      .join('')
  }
  if (Array.isArray(value)) return value.map((element) => resolveValue(element, scope))
  if (!isPlainObject(value)) return value
  if (isLiteralObject(value)) return value.$literal
  if (isRefObject(value)) return resolveExpression(String(value.$ref), scope)
  const out: Record<string, unknown> = {}
  for (const [key, element] of Object.entries(value)) out[key] = resolveValue(element, scope)
  return out
}

/** Parses a `forEach` source: a reference string, a `{"$ref"}` object, or a literal array. */
export function forEachReference(source: unknown): LocatedReference | undefined {
  if (typeof source === 'string') {
    const expression = source.startsWith('${') && source.endsWith('}') ? source.slice(2, -1) : source
    const ref = parseReference(expression)
    return typeof ref === 'string' ? { at: 'forEach', expression, error: ref } : { at: 'forEach', expression, ref }
  }
  if (isPlainObject(source)) return collectReferences(source, 'forEach')[0]
  return undefined
}
