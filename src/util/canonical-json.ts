import { createHash } from 'node:crypto'

/** A copy of `value` with object keys sorted at every level, so equal data serialises equally. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])])
    )
  }
  return value
}

/** sha256 (hex) of the canonical JSON of `parts`, each separated by a NUL. */
export function canonicalHash(...parts: unknown[]): string {
  const hash = createHash('sha256')
  parts.forEach((part, index) => {
    if (index > 0) hash.update('\0')
    hash.update(typeof part === 'string' ? part : JSON.stringify(canonical(part ?? null)))
  })
  return hash.digest('hex')
}

/** Whether every value has the same canonical JSON (key order ignored; undefined counts as null). */
export function allEqual(values: readonly unknown[]): boolean {
  const first = JSON.stringify(canonical(values[0] ?? null))
  return values.every((value) => JSON.stringify(canonical(value ?? null)) === first)
}
