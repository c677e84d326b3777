import { z } from 'zod'
import type { JsonObject } from './types.js'

/**
 * Converts a zod object schema to the JSON Schema MCP advertises. `$schema` is
 * dropped because several MCP clients reject tools whose schemas name a draft
 * they do not implement; the shape itself is draft-2020-12 compatible.
 */
export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject
  delete json.$schema
  return json
}

/** Flattens zod issues into "path: message" strings for error messages. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)'
    return `${path}: ${issue.message}`
  })
}
