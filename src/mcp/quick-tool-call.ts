import { SERVER_INFO_META_KEY } from '@modelcontextprotocol/server'
import { MODERN_ERA } from './constants.js'

/**
 * Hand-written checks of the tools/call results (and 2025 requests) that make
 * up the hot path, exactly as strict as the SDK's zod schemas for them (the
 * SDK release pinned in package.json; test/mcp/quick-tool-call.spec.ts
 * compares them with the codecs' own verdicts). A result: a plain object whose `content` holds only text
 * blocks (`type`, `text`, an optional plain `_meta`), an optional boolean
 * `isError`, and the era's `structuredContent` and `_meta`. For such a value
 * the schema's parse succeeds and returns a copy with the same string keys
 * and values (symbol keys it drops; they never reach JSON), its keys in the
 * schema's order: the parsed result here is the
 * value itself when its keys are in that order already, else a copy of the
 * objects whose keys are not (at most the result and its `_meta`). Anything
 * else (other content types, annotations, unusual `_meta`, a non-plain
 * object, an own `__proto__` key the schema would drop, a strict-keyed
 * object with its keys out of order) is undefined here and goes through the
 * schema, with its errors.
 *
 * A request (2025-11-25 or 2026-07-28): see `quickToolRequest`.
 *
 * Measured on the calling node at 64 calls in flight: the schema parses of
 * a remote call's request and result (the peer's result, then the front's
 * own answer) were about 8 % of its CPU, and their garbage more.
 */

/** The 2025-11-25 codec's era name. */
const LEGACY_ERA = '2025-11-25'

/** The one key of a 2025 result `_meta` the schema constrains besides progressToken. */
const RELATED_TASK_META_KEY = 'io.modelcontextprotocol/related-task'

/** The keys of tools/call result schemas (both eras), in the order their parse copies them. */
const RESULT_KEYS = ['_meta', 'content', 'structuredContent', 'isError'] as const

/** TextContent's keys in its order (`annotations` goes to the schema). */
const TEXT_KEYS = ['type', 'text', '_meta'] as const

/** The keys of the schema's `Implementation` in its order, all strings (`icons` goes to the schema). */
const IMPLEMENTATION_KEYS = ['name', 'title', 'version', 'websiteUrl', 'description'] as const

/** 2025's result `_meta` keys (RequestMetaSchema) the check takes (the related-task key goes to the schema). */
const LEGACY_META_KEYS = ['progressToken'] as const

/** 2026-07-28's result `_meta` keys (ResultMetaSchema). */
const MODERN_META_KEYS = [SERVER_INFO_META_KEY] as const

/**
 * An object the schemas take key by key and copy as it is: its prototype is
 * Object.prototype (the schemas' `isPlainObject`, with no inherited keys)
 * and it has no own `__proto__` key (JSON.parse makes one; the schemas drop
 * it). Symbol keys an object schema drops, and so does every JSON text this
 * value becomes (JSON has none): they are not looked for here.
 */
function plain(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype &&
    !Object.hasOwn(value, '__proto__')
  )
}

/** `z.record(z.string(), z.unknown())`: a plain object without symbol keys (a record refuses them). */
function record(value: unknown): value is Record<string, unknown> {
  return plain(value) && Object.getOwnPropertySymbols(value).length === 0
}

/**
 * A strict-keyed object's keys (the schema strips others): only `order`'s,
 * in its order, as the parse copies them.
 */
function strictKeys(value: Record<string, unknown>, order: readonly string[]): boolean {
  let next = 0
  for (const key in value) {
    const at = order.indexOf(key, next)
    if (at === -1) return false
    next = at + 1
  }
  return true
}

/** Whether a loose object's keys are in its parse's order: the shape's (in order), then the others. */
function looseOrder(value: Record<string, unknown>, shape: readonly string[], skip?: string): boolean {
  let next = 0
  let others = false
  for (const key in value) {
    if (key === skip) return false
    const at = shape.indexOf(key)
    if (at === -1) {
      others = true
      continue
    }
    if (others || at < next) return false
    next = at + 1
  }
  return true
}

/** A loose object as its parse copies it: the shape's keys present, in order, then the others but `skip`. */
function looseCopy(
  value: Record<string, unknown>,
  shape: readonly string[],
  replace?: { key: string; value: unknown },
  skip?: string
): Record<string, unknown> {
  const copy: Record<string, unknown> = {}
  for (const key of shape) if (key in value) copy[key] = key === replace?.key ? replace.value : value[key]
  for (const key in value) if (key !== skip && !shape.includes(key)) copy[key] = value[key]
  return copy
}

/** TextContent with its keys in order, `_meta` a record. */
function textBlock(block: unknown): boolean {
  if (!plain(block) || block.type !== 'text' || typeof block.text !== 'string') return false
  if (!strictKeys(block, TEXT_KEYS)) return false
  const meta = block._meta
  return meta === undefined || record(meta)
}

/** The fields every era's tools/call result schema shares: `content` of text blocks, an optional boolean `isError`. */
function textContentResult(value: unknown): value is Record<string, unknown> {
  if (!plain(value)) return false
  const content = value.content
  if (!Array.isArray(content)) return false
  for (let i = 0; i < content.length; i++) if (!textBlock(content[i])) return false
  const isError = value.isError
  return isError === undefined || typeof isError === 'boolean'
}

/** 2025's result `_meta` (RequestMetaSchema, loose): a valid progress token if any, no related-task key. */
function legacyMeta(meta: unknown): meta is Record<string, unknown> | undefined {
  if (meta === undefined) return true
  if (!plain(meta) || RELATED_TASK_META_KEY in meta) return false
  const token = meta.progressToken
  return token === undefined || typeof token === 'string' || (typeof token === 'number' && Number.isSafeInteger(token))
}

/** 2026-07-28's result `_meta` (loose): a serverInfo, if any, that the schema takes (a strict-keyed Implementation). */
function modernMeta(meta: unknown): meta is Record<string, unknown> | undefined {
  if (meta === undefined) return true
  if (!plain(meta)) return false
  const info = meta[SERVER_INFO_META_KEY]
  if (info === undefined) return true
  if (!plain(info) || typeof info.name !== 'string' || typeof info.version !== 'string') return false
  if (!strictKeys(info, IMPLEMENTATION_KEYS)) return false
  for (const key in info) {
    const field = info[key]
    if (field !== undefined && typeof field !== 'string') return false
  }
  return true
}

/**
 * The parsed result: `value` when its keys (and its `_meta`'s) are in the
 * parse's order and none is `skip`, else a copy in that order.
 */
function parsed(
  value: Record<string, unknown>,
  meta: Record<string, unknown> | undefined,
  metaKeys: readonly string[],
  skip?: string
): Record<string, unknown> {
  const metaInOrder = meta === undefined || looseOrder(meta, metaKeys)
  if (metaInOrder && looseOrder(value, RESULT_KEYS, skip)) return value
  const replace = metaInOrder ? undefined : { key: '_meta', value: looseCopy(meta!, metaKeys) }
  return looseCopy(value, RESULT_KEYS, replace, skip)
}

/**
 * The 2025-11-25 codec's `validateResult('tools/call', value)`, for a value
 * the SDK normalized (a result without `content` gained `content: []`).
 */
function legacyToolResult(value: unknown): Record<string, unknown> | undefined {
  if (!textContentResult(value)) return undefined
  const meta = value._meta
  if (!legacyMeta(meta)) return undefined
  const structured = value.structuredContent
  if (structured !== undefined && !record(structured)) return undefined
  return parsed(value, meta, LEGACY_META_KEYS)
}

/**
 * The 2026-07-28 codec's `validateResult('tools/call', lifted)` where
 * `lifted` is `value` less its `resultType` (the SDK's `decodeResult` lifts
 * it out): the parsed result, or undefined for the schema to decide.
 * `structuredContent` is any value in this era.
 */
export function quickModernToolResult(value: unknown): Record<string, unknown> | undefined {
  if (!textContentResult(value)) return undefined
  const meta = value._meta
  if (!modernMeta(meta)) return undefined
  return parsed(value, meta, MODERN_META_KEYS, 'resultType')
}

/**
 * The verdict of `codec.validateResult('tools/call', value)` of the era's
 * codec, when the value is one the quick checks take; undefined for
 * anything else, and for any other era.
 */
export function quickToolResult(era: string, value: unknown): { ok: true; value: unknown } | undefined {
  if (era !== LEGACY_ERA && era !== MODERN_ERA) return undefined
  // A 2026-07-28 result handed to validateResult has no resultType (the funnel lifted it): one that has is the schema's.
  if (era === MODERN_ERA && plain(value) && 'resultType' in value) return undefined
  const result = era === LEGACY_ERA ? legacyToolResult(value) : quickModernToolResult(value)
  return result === undefined ? undefined : { ok: true, value: result }
}

/** CallToolRequestParams' keys (2025) in the parse's order; `task` goes to the schema. */
const PARAMS_KEYS = ['_meta', 'name', 'arguments'] as const

/**
 * The 2025-11-25 codec's `validateRequest('tools/call', request)`: the
 * schema (strict-keyed objects, so unknown keys are dropped, not refused)
 * returns `{ method, params }`, params holding `_meta`, `name` and
 * `arguments` as present, in that order. Taken here: a plain request and
 * params, a string name, plain arguments, a `_meta` as a result's
 * (`legacyMeta`), no `task`. Undefined for anything else, and in any other era.
 * A 2026-07-28 request: see `modernToolRequest`.
 */
export function quickToolRequest(era: string, request: unknown): { ok: true; value: unknown } | undefined {
  if (!plain(request) || request.method !== 'tools/call') return undefined
  if (era === MODERN_ERA) return modernToolRequest(request.params)
  if (era !== LEGACY_ERA) return undefined
  const params = request.params
  if (!plain(params) || 'task' in params || typeof params.name !== 'string') return undefined
  const args = params.arguments
  if (args !== undefined && !record(args)) return undefined
  let meta = params._meta
  if (!legacyMeta(meta)) return undefined
  if (meta !== undefined && !looseOrder(meta, LEGACY_META_KEYS)) meta = looseCopy(meta, LEGACY_META_KEYS)
  const parsedParams: Record<string, unknown> = {}
  for (const key of PARAMS_KEYS) if (key in params) parsedParams[key] = key === '_meta' ? meta : params[key]
  return { ok: true, value: { method: 'tools/call', params: parsedParams } }
}

/** The params keys the 2026-07-28 check knows (the retry keys never reach it: the fast path leaves those to the SDK). */
const MODERN_PARAM_KEYS: ReadonlySet<string> = new Set(['name', 'arguments', '_meta'])

/**
 * The 2026-07-28 codec's `validateRequest('tools/call', request)` (the
 * envelope already lifted out of `_meta`): `{ method, params }`, params a
 * fresh object holding `_meta` (progressToken first, a string or a safe
 * integer), `name` and `arguments` (a fresh record), as present. Any other
 * params key (the schema strips it), or any value the checks do not take:
 * undefined, for the codec to decide.
 */
function modernToolRequest(params: unknown): { ok: true; value: unknown } | undefined {
  if (!plain(params) || typeof params.name !== 'string') return undefined
  for (const key in params) if (!MODERN_PARAM_KEYS.has(key)) return undefined
  const out: Record<string, unknown> = {}
  if ('_meta' in params) {
    const meta = params._meta
    if (!record(meta)) return undefined
    const copy: Record<string, unknown> = {}
    if ('progressToken' in meta) {
      const token = meta.progressToken
      if (typeof token !== 'string' && !Number.isSafeInteger(token)) return undefined
      copy.progressToken = token
    }
    for (const key in meta) if (key !== 'progressToken') copy[key] = meta[key]
    out._meta = copy
  }
  out.name = params.name
  if ('arguments' in params) {
    const args = params.arguments
    if (!record(args)) return undefined
    const copy: Record<string, unknown> = {}
    for (const key in args) copy[key] = args[key]
    out.arguments = copy
  }
  return { ok: true, value: { method: 'tools/call', params: out } }
}
