/** A non-null, non-array object (JSON's object), read by key: the loose check the hot paths share. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
