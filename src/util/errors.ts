/**
 * Base of every mcp-mesh error: `name` identifies the failure so callers and
 * tests match on `err.name`, not on message text.
 */
export class MeshError extends Error {
  static readonly code: string = 'ERR_MESH'
  readonly code: string

  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof MeshError).code
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}

/** What a node prints on stderr for a promise rejection nobody handled; the test suite fails on it. */
export const UNHANDLED_REJECTION_NOTICE = 'internal error: unhandled rejection'
