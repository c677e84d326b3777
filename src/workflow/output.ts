import type { CallToolResult } from '@modelcontextprotocol/server'
import { resultText } from '../mcp/result.js'

/**
 * What a step's task produced, as later steps see it: the structured output
 * when the tool has one, else its text parsed as JSON when it is JSON, else
 * the text itself (or the raw content blocks when there is no text).
 */
export function outputOf(result: CallToolResult | undefined): unknown {
  if (result == null) return null
  if (result.structuredContent !== undefined) return result.structuredContent
  if (!(result.content ?? []).some((block) => block.type === 'text')) return result.content ?? null
  const text = resultText(result)
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** The error text of a failed tool result. */
export function errorTextOf(result: CallToolResult | undefined): string {
  if (result == null) return 'the tool returned no result'
  const text = resultText({ content: result.content ?? [] })
  return text !== '' ? text : 'the tool returned an error'
}
