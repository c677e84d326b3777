/**
 * Whether `JSON.stringify(value) === JSON.stringify(parsed)`, where `parsed`
 * came from JSON.parse, by walking both: the same keys in the same order
 * (the order JSON.stringify writes), equal strings, numbers, booleans and
 * nulls. Undefined (then the caller stringifies) when `value` holds
 * anything JSON.stringify would write differently from its shape: a
 * non-finite number, undefined, a function, a symbol, a bigint, an object
 * that is not a plain object or array (toJSON, Date, Map...).
 */
export function sameJson(value: unknown, parsed: unknown): boolean | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value === parsed
    case 'number':
      return Number.isFinite(value) ? value === parsed : undefined
    case 'object':
      break
    default:
      return undefined
  }
  if (value === null) return parsed === null
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return undefined
    if (!Array.isArray(parsed) || parsed.length !== value.length) return sameOrUnknown(value, false)
    for (let i = 0; i < value.length; i++) {
      const same = sameJson(value[i], parsed[i])
      if (same !== true) return same
    }
    return true
  }
  const proto: unknown = Object.getPrototypeOf(value)
  if ((proto !== Object.prototype && proto !== null) || 'toJSON' in value) return undefined
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return sameOrUnknown(value, false)
  const keys = Object.keys(value)
  const parsedKeys = Object.keys(parsed)
  if (keys.length !== parsedKeys.length) return sameOrUnknown(value, false)
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    if (key !== parsedKeys[i]) return sameOrUnknown(value, false)
    const same = sameJson((value as Record<string, unknown>)[key], (parsed as Record<string, unknown>)[key])
    if (same !== true) return same
  }
  return true
}

/**
 * `answer` when nothing inside `value` could be written by JSON.stringify
 * other than as its shape says (see sameJson), else undefined: a mismatch
 * of shape is only certain for plain JSON (an undefined member is left
 * out by JSON.stringify, so key counts alone prove nothing then).
 */
function sameOrUnknown(value: unknown, answer: boolean): boolean | undefined {
  return plainJson(value) ? answer : undefined
}

export function plainJson(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value)
    case 'object':
      break
    default:
      return false
  }
  if (value === null) return true
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false
    // By index: every() skips holes, which JSON.stringify writes as null.
    for (let i = 0; i < value.length; i++) if (!plainJson(value[i])) return false
    return true
  }
  const proto: unknown = Object.getPrototypeOf(value)
  if ((proto !== Object.prototype && proto !== null) || 'toJSON' in value) return false
  return Object.values(value).every(plainJson)
}
