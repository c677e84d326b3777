import type { CallToolResult } from '@modelcontextprotocol/server'

/** The text blocks of a tool result, joined by newlines (for messages and logs). */
export function resultText(result: Pick<CallToolResult, 'content'>): string {
  return result.content
    .filter((block) => block.type === 'text')
    .map((block) => (block as { text: string }).text)
    .join('\n')
}
