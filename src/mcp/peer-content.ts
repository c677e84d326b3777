import {
  type Client,
  type CompleteRequestParams,
  type CompleteResult,
  type GetPromptResult,
  type Prompt,
  ProtocolError,
  ProtocolErrorCode,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplateType
} from '@modelcontextprotocol/client'
import { callerInput } from '../tools/input-scope.js'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { servesUri } from '../util/uri-template.js'
import { PEER_CONTENT_LIST_TIMEOUT_MS, PEER_CONTENT_TTL_MS } from './constants.js'
import type { ContentCallContext, ContentSource } from './view.js'

const log = meshLogger('mcp:peer-content')

/** What the peers' content needs of the mesh (the node fills it in from the mesh port). */
export interface ContentPeers {
  /** Peers this node may send requests to. */
  peers(): string[]
  /** The peer's pooled MCP client. */
  client(peer: string, options?: { signal?: AbortSignal }): Promise<Client>
}

interface Snapshot {
  peer: string
  at: number
  prompts: Prompt[]
  resources: Resource[]
  templates: ResourceTemplateType[]
}

/**
 * The prompts, resources and completions peers share with this node (their
 * servers marked `export: true`), listed on demand from each peer's session
 * and kept for a few seconds; gets, reads and completions go to the peer
 * that lists the prompt or resource, input requests included.
 */
export class PeerContent implements ContentSource {
  readonly #peers: () => ContentPeers | undefined
  readonly #snapshots = new Map<string, Snapshot>()
  readonly #onResourceUpdated?: (uri: string) => void

  /** `onResourceUpdated` hears the updates of the peers' resources this node subscribed to. */
  constructor(peers: () => ContentPeers | undefined, onResourceUpdated?: (uri: string) => void) {
    this.#peers = peers
    this.#onResourceUpdated = onResourceUpdated
  }

  async prompts(): Promise<Prompt[]> {
    return (await this.#all()).flatMap((snapshot) => snapshot.prompts)
  }

  async resources(): Promise<Resource[]> {
    return (await this.#all()).flatMap((snapshot) => snapshot.resources)
  }

  async resourceTemplates(): Promise<ResourceTemplateType[]> {
    return (await this.#all()).flatMap((snapshot) => snapshot.templates)
  }

  async getPrompt(
    name: string,
    args: Record<string, string> | undefined,
    ctx: ContentCallContext
  ): Promise<GetPromptResult> {
    const snapshot = (await this.#all()).find((s) => s.prompts.some((prompt) => prompt.name === name))
    if (snapshot == null) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${name}`)
    const client = await this.#client(snapshot.peer, ctx.signal)
    return callerInput.run(ctx.requestInput, async () =>
      client.getPrompt({ name, arguments: args }, { signal: ctx.signal, timeout: 24 * 3_600_000 })
    )
  }

  async readResource(uri: string, ctx: ContentCallContext): Promise<ReadResourceResult> {
    const client = await this.#client((await this.#serving(uri)).peer, ctx.signal)
    return callerInput.run(ctx.requestInput, async () =>
      client.readResource({ uri }, { signal: ctx.signal, timeout: 24 * 3_600_000 })
    )
  }

  /**
   * Subscribes at the peer serving `uri`; its updates reach this node's
   * subscribed sessions. A peer on the 2026-07-28 wire has no
   * `resources/subscribe` (its `subscriptions/listen` is not relayed yet):
   * the subscription is kept here only.
   */
  async subscribe(uri: string, ctx: ContentCallContext): Promise<void> {
    const client = await this.#client((await this.#serving(uri)).peer, ctx.signal)
    if (!canSubscribe(client)) return
    client.setNotificationHandler('notifications/resources/updated', (notification) => {
      this.#onResourceUpdated?.(notification.params.uri)
    })
    await client.subscribeResource({ uri }, { signal: ctx.signal })
  }

  async unsubscribe(uri: string, ctx: ContentCallContext): Promise<void> {
    const client = await this.#client((await this.#serving(uri)).peer, ctx.signal)
    if (!canSubscribe(client)) return
    await client.unsubscribeResource({ uri }, { signal: ctx.signal })
  }

  async #serving(uri: string): Promise<Snapshot> {
    const snapshot = (await this.#all()).find((s) => servesUri(uri, s.resources, s.templates))
    if (snapshot == null) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Resource not found: ${uri}`, { uri })
    }
    return snapshot
  }

  async complete(params: CompleteRequestParams, ctx: ContentCallContext): Promise<CompleteResult> {
    const { ref } = params
    const snapshot = (await this.#all()).find((s) =>
      ref.type === 'ref/prompt'
        ? s.prompts.some((prompt) => prompt.name === ref.name)
        : s.templates.some((template) => template.uriTemplate === ref.uri)
    )
    if (snapshot == null) return { completion: { values: [] } }
    const client = await this.#client(snapshot.peer, ctx.signal)
    if (client.getServerCapabilities()?.completions == null) return { completion: { values: [] } }
    return client.complete(params, { signal: ctx.signal })
  }

  async #client(peer: string, signal: AbortSignal): Promise<Client> {
    const peers = this.#peers()
    if (peers == null) throw new ProtocolError(ProtocolErrorCode.InternalError, 'the mesh is not running')
    return peers.client(peer, { signal })
  }

  async #all(): Promise<Snapshot[]> {
    const peers = this.#peers()
    if (peers == null) return []
    const now = Date.now()
    const ids = peers.peers()
    for (const peer of this.#snapshots.keys()) if (!ids.includes(peer)) this.#snapshots.delete(peer)
    const snapshots = await Promise.all(
      ids.map(async (peer) => {
        const cached = this.#snapshots.get(peer)
        if (cached != null && now - cached.at < PEER_CONTENT_TTL_MS) return cached
        const fresh = await this.#list(peers, peer)
        this.#snapshots.set(peer, fresh)
        return fresh
      })
    )
    return snapshots.filter((s) => s.prompts.length + s.resources.length + s.templates.length > 0)
  }

  async #list(peers: ContentPeers, peer: string): Promise<Snapshot> {
    const snapshot: Snapshot = { peer, at: Date.now(), prompts: [], resources: [], templates: [] }
    try {
      const signal = AbortSignal.timeout(PEER_CONTENT_LIST_TIMEOUT_MS)
      const client = await peers.client(peer, { signal })
      const capabilities = client.getServerCapabilities() ?? {}
      const options = { signal, timeout: PEER_CONTENT_LIST_TIMEOUT_MS }
      if (capabilities.prompts != null) snapshot.prompts = (await client.listPrompts(undefined, options)).prompts
      if (capabilities.resources != null) {
        snapshot.resources = (await client.listResources(undefined, options)).resources
        snapshot.templates = (await client.listResourceTemplates(undefined, options)).resourceTemplates
      }
    } catch (err) {
      log('listing the content of %s failed: %s', peer, errorMessage(err))
    }
    return snapshot
  }
}

function canSubscribe(client: Client): boolean {
  return client.getProtocolEra() !== 'modern' && client.getServerCapabilities()?.resources?.subscribe === true
}

/** Several content sources as one: lists are concatenated, a name or URI goes to the first that has it. */
export function combineContent(...sources: ContentSource[]): ContentSource {
  const owner = async <T>(find: (source: ContentSource) => Promise<T[]>, match: (item: T) => boolean) => {
    for (const source of sources) if ((await find(source)).some(match)) return source
    return undefined
  }
  const serving = async (uri: string): Promise<ContentSource> => {
    for (const source of sources) {
      if (servesUri(uri, await source.resources(), await source.resourceTemplates())) return source
    }
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Resource not found: ${uri}`, { uri })
  }
  return {
    prompts: async () => (await Promise.all(sources.map(async (s) => s.prompts()))).flat(),
    resources: async () => (await Promise.all(sources.map(async (s) => s.resources()))).flat(),
    resourceTemplates: async () => (await Promise.all(sources.map(async (s) => s.resourceTemplates()))).flat(),
    getPrompt: async (name, args, ctx) => {
      const source = await owner(
        async (s) => s.prompts(),
        (prompt) => prompt.name === name
      )
      if (source == null) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${name}`)
      return source.getPrompt(name, args, ctx)
    },
    readResource: async (uri, ctx) => (await serving(uri)).readResource(uri, ctx),
    subscribe: async (uri, ctx) => (await serving(uri)).subscribe?.(uri, ctx),
    unsubscribe: async (uri, ctx) => (await serving(uri)).unsubscribe?.(uri, ctx),
    complete: async (params, ctx) => {
      const { ref } = params
      const source =
        ref.type === 'ref/prompt'
          ? await owner(
              async (s) => s.prompts(),
              (prompt) => prompt.name === ref.name
            )
          : await owner(
              async (s) => s.resourceTemplates(),
              (template) => template.uriTemplate === ref.uri
            )
      return source == null ? { completion: { values: [] } } : source.complete(params, ctx)
    }
  }
}
