/**
 * Whether a reference path can exist in a value a tool's JSON Schema
 * describes; the validator's check of `steps.<id>.output.<path>`.
 */
import type { JsonObject } from '../tools/types.js'
import type { PathSegment } from './refs.js'

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Follows local `#/$defs/…` pointers. */
function deref(schema: JsonObject, root: JsonObject): JsonObject {
  let current = schema
  for (let hops = 0; hops < 16 && typeof current.$ref === 'string'; hops++) {
    const pointer = current.$ref
    if (!pointer.startsWith('#/')) return {}
    let target: unknown = root
    for (const part of pointer.slice(2).split('/')) target = isObject(target) ? target[part] : undefined
    if (!isObject(target)) return {}
    current = target
  }
  return current
}

/**
 * Whether `path` can exist in a value described by `schema`: `undefined`
 * when it can, else the first missing field. Lenient wherever the schema is
 * open (no properties, additionalProperties allowed, unions with an open arm).
 */
export function missingField(
  schema: JsonObject,
  path: readonly PathSegment[],
  root: JsonObject = schema
): string | undefined {
  const node = deref(schema, root)
  if (path.length === 0) return undefined
  const [head, ...rest] = path
  for (const key of ['anyOf', 'oneOf'] as const) {
    const arms = node[key]
    if (Array.isArray(arms)) {
      const misses = arms.filter(isObject).map((arm) => missingField(arm, path, root))
      return misses.some((miss) => miss === undefined) ? undefined : misses[0]
    }
  }
  if (Array.isArray(node.allOf)) {
    for (const arm of node.allOf.filter(isObject)) {
      const miss = missingField(arm, path, root)
      if (miss !== undefined) return miss
    }
  }
  const type = node.type
  const isArray = type === 'array' || (Array.isArray(type) && type.includes('array'))
  if (isArray) {
    if (!(typeof head === 'number' || /^\d+$/.test(String(head)))) return String(head)
    const items = node.items
    if (
      Array.isArray(node.prefixItems) &&
      node.prefixItems[Number(head)] != null &&
      isObject(node.prefixItems[Number(head)])
    ) {
      return missingField(node.prefixItems[Number(head)] as JsonObject, rest, root)
    }
    return isObject(items) ? missingField(items, rest, root) : undefined
  }
  const properties = node.properties
  if (!isObject(properties)) return undefined
  const key = String(head)
  if (isObject(properties[key])) return missingField(properties[key] as JsonObject, rest, root)
  const extra = node.additionalProperties
  if (extra === true || isObject(extra) || isObject(node.patternProperties)) {
    return isObject(extra) ? missingField(extra, rest, root) : undefined
  }
  return key
}
