import type { CallToolResult } from '@modelcontextprotocol/server'
import { z } from 'zod'
import { defineTool } from '../../src/tools/define.js'
import type { ToolMetaInput } from '../../src/tools/meta.js'
import type { Tool, ToolContext, ToolProgress } from '../../src/tools/types.js'

/**
 * Unit-test helpers for tools: a tool made with the real `defineTool`, and a
 * ToolContext that records progress.
 */

export interface TestToolOptions {
  meta?: ToolMetaInput
  title?: string
  /** Runs on invoke (default: returns `{ ran: <name> }`). */
  handler?: (args: { value?: string }, ctx: ToolContext) => Promise<CallToolResult | Record<string, unknown> | string>
}

/** A small valid tool with an optional `value` string argument. */
export function testTool(name: string, options: TestToolOptions = {}): Tool {
  return defineTool({
    name,
    title: options.title,
    description: `test tool ${name}`,
    inputSchema: z.object({ value: z.string().optional() }),
    meta: options.meta,
    handler: options.handler ?? (async () => ({ ran: name }))
  })
}

export interface RecordingContext extends ToolContext {
  readonly progress: ToolProgress[]
  readonly controller: AbortController
}

/** A local-caller context whose progress reports are recorded and whose signal you can abort. */
export function testContext(signal?: AbortSignal): RecordingContext {
  const controller = new AbortController()
  const progress: ToolProgress[] = []
  return {
    signal: signal ?? controller.signal,
    controller,
    progress,
    caller: { kind: 'local' },
    reportProgress: (p) => {
      progress.push(p)
    }
  }
}

/** The text blocks of a result, joined. */
export function resultText(result: CallToolResult): string {
  return result.content
    .filter((block): block is { type: 'text'; text: string } => block.type === 'text')
    .map((block) => block.text)
    .join('\n')
}
