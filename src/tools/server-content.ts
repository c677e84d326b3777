import {
  type CompleteRequestParams,
  type CompleteResult,
  type GetPromptResult,
  type Prompt,
  ProtocolError,
  ProtocolErrorCode,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplateType
} from '@modelcontextprotocol/server'
import type { ContentCallContext, ContentSource } from '../mcp/view.js'
import type { ServerProxy } from './server-proxy.js'

/**
 * The prompts, resources and completions of every shared MCP server, as one
 * source for the local view. Prompts carry their server's prefix (as its
 * tools do); resources keep their URIs (the first server offering one serves it).
 */
export class SharedServerContent implements ContentSource {
  readonly #servers: () => readonly ServerProxy[]

  constructor(servers: () => readonly ServerProxy[]) {
    this.#servers = servers
  }

  async prompts(): Promise<Prompt[]> {
    return this.#servers().flatMap((server) => server.prompts())
  }

  async getPrompt(
    name: string,
    args: Record<string, string> | undefined,
    ctx: ContentCallContext
  ): Promise<GetPromptResult> {
    for (const server of this.#servers()) {
      const remote = server.promptName(name)
      if (remote != null) return server.getPrompt(remote, args, ctx)
    }
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${name}`)
  }

  async resources(): Promise<Resource[]> {
    return this.#servers().flatMap((server) => server.resources())
  }

  async resourceTemplates(): Promise<ResourceTemplateType[]> {
    return this.#servers().flatMap((server) => server.resourceTemplates())
  }

  async readResource(uri: string, ctx: ContentCallContext): Promise<ReadResourceResult> {
    const server = this.#servers().find((candidate) => candidate.servesResource(uri))
    if (server == null) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Resource not found: ${uri}`, { uri })
    return server.readResource(uri, ctx)
  }

  async subscribe(uri: string, ctx: ContentCallContext): Promise<void> {
    return this.#serving(uri).subscribe(uri, ctx)
  }

  async unsubscribe(uri: string, ctx: ContentCallContext): Promise<void> {
    return this.#serving(uri).unsubscribe(uri, ctx)
  }

  #serving(uri: string): ServerProxy {
    const server = this.#servers().find((candidate) => candidate.servesResource(uri))
    if (server == null) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Resource not found: ${uri}`, { uri })
    return server
  }

  async complete(params: CompleteRequestParams, ctx: ContentCallContext): Promise<CompleteResult> {
    const { ref } = params
    for (const server of this.#servers()) {
      if (ref.type === 'ref/prompt') {
        const remote = server.promptName(ref.name)
        if (remote != null) return server.complete({ ...params, ref: { ...ref, name: remote } }, ctx)
      } else if (server.resourceTemplates().some((template) => template.uriTemplate === ref.uri)) {
        return server.complete(params, ctx)
      }
    }
    return { completion: { values: [] } }
  }
}
