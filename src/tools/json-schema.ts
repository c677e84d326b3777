import { z } from 'zod'
import type { JsonObject } from './types.js'

/**
 * Converts a zod object schema to the JSON Schema MCP advertises. `$schema` is
 * dropped because several MCP clients reject tools whose schemas name a draft
 * they do not implement; the shape itself is draft-2020-12 compatible.
 * `additionalProperties: {}` (zod's spelling of a record of `unknown`) becomes
 * the equivalent `true`: strict checkers (MCP Inspector `--strict`) flag an
 * empty schema as accepting anything by accident.
 */
export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject
  delete json.$schema
  normalizeOpenObjects(json)
  return json
}

function isEmptySchema(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0
}

function normalizeOpenObjects(node: unknown): void {
  if (typeof node !== 'object' || node === null) return
  if (Array.isArray(node)) {
    for (const item of node) normalizeOpenObjects(item)
    return
  }
  const object = node as JsonObject
  if (isEmptySchema(object.additionalProperties)) object.additionalProperties = true
  for (const value of Object.values(object)) normalizeOpenObjects(value)
}

/** Flattens zod issues into "path: message" strings for error messages. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)'
    return `${path}: ${issue.message}`
  })
}
