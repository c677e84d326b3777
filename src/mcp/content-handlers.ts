import type {
  ClientCapabilities,
  GetPromptResult,
  ReadResourceResult,
  Server,
  ServerContext
} from '@modelcontextprotocol/server'
import type { InputRounds } from './input-rounds.js'
import type { ContentSource } from './view.js'

export interface ContentHandlerOptions {
  /** Input rounds of prompts/get and resources/read (a shared server may ask for input there too). */
  rounds: InputRounds
  whenReady: () => Promise<void>
  capabilities: (ctx: ServerContext) => ClientCapabilities
  /** The URIs this session subscribed to (the front sends their updates to it). */
  subscriptions: Set<string>
}

/**
 * Serves the shared servers' prompts, resources and completions on a
 * session: lists from the source as it is now, gets and reads forwarded
 * (with input_required rounds when the server asks its client for input).
 */
export function registerContentHandlers(server: Server, content: ContentSource, options: ContentHandlerOptions): void {
  const { rounds, whenReady, capabilities, subscriptions } = options
  const noProgress = (): void => {}
  server.setRequestHandler('prompts/list', async () => {
    await whenReady()
    return { prompts: await content.prompts() }
  })
  server.setRequestHandler('prompts/get', async (request, ctx) => {
    await whenReady()
    const { name, arguments: args } = request.params
    return rounds.serve<GetPromptResult>(ctx, capabilities(ctx), noProgress, async (round) =>
      content.getPrompt(name, args, { signal: round.signal, requestInput: round.requestInput })
    )
  })
  server.setRequestHandler('resources/list', async () => {
    await whenReady()
    return { resources: await content.resources() }
  })
  server.setRequestHandler('resources/templates/list', async () => {
    await whenReady()
    return { resourceTemplates: await content.resourceTemplates() }
  })
  server.setRequestHandler('resources/read', async (request, ctx) => {
    await whenReady()
    const { uri } = request.params
    return rounds.serve<ReadResourceResult>(ctx, capabilities(ctx), noProgress, async (round) =>
      content.readResource(uri, { signal: round.signal, requestInput: round.requestInput })
    )
  })
  server.setRequestHandler('resources/subscribe', async (request, ctx) => {
    await whenReady()
    const { uri } = request.params
    await content.subscribe?.(uri, { signal: ctx.mcpReq.signal })
    subscriptions.add(uri)
    return {}
  })
  server.setRequestHandler('resources/unsubscribe', async (request, ctx) => {
    await whenReady()
    const { uri } = request.params
    subscriptions.delete(uri)
    await content.unsubscribe?.(uri, { signal: ctx.mcpReq.signal })
    return {}
  })
  server.setRequestHandler('completion/complete', async (request, ctx) => {
    await whenReady()
    return content.complete(request.params, { signal: ctx.mcpReq.signal })
  })
}
