import { ProtocolError } from '@modelcontextprotocol/server'
import type { ContentCallContext, ContentSource } from '../mcp/view.js'
import type { TrustGate } from '../trust/index.js'
import { deadline } from '../util/deadline.js'
import { ERROR_CODE_DENIED } from './constants.js'
import type { InboundLimiter } from './peer-view.js'

export interface PeerContentGuardHost {
  gate: Pick<TrustGate, 'checkPeer'>
  limiter: InboundLimiter
}

/**
 * What one peer may do with the prompts, resources and completions this node
 * exports (servers with `export: true`): every request is asked of the gate
 * (path `content`: `trust.allowPeers`); gets, reads, completions and
 * subscriptions, which reach a shared server, run under the peer's inbound
 * limits like its tool calls (rate, per-peer queue, the node-wide cap, the
 * request timeout). Lists are answered from memory, gate only.
 */
export function guardPeerContent(source: ContentSource, peer: string, host: PeerContentGuardHost): ContentSource {
  const admit = (): void => {
    const decision = host.gate.checkPeer('content', peer)
    if (!decision.allowed) throw new ProtocolError(ERROR_CODE_DENIED, `denied: ${decision.reason}`)
  }
  const limited = async <T>(ctx: ContentCallContext, fn: (ctx: ContentCallContext) => Promise<T>): Promise<T> => {
    admit()
    return host.limiter.run(
      peer,
      async () => {
        const limit = deadline(ctx.signal, host.limiter.limits.requestTimeoutMs)
        try {
          return await fn({ ...ctx, signal: limit.signal })
        } finally {
          limit.dispose()
        }
      },
      'content'
    )
  }
  return {
    prompts: async () => {
      admit()
      return source.prompts()
    },
    resources: async () => {
      admit()
      return source.resources()
    },
    resourceTemplates: async () => {
      admit()
      return source.resourceTemplates()
    },
    getPrompt: async (name, args, ctx) => limited(ctx, async (c) => source.getPrompt(name, args, c)),
    readResource: async (uri, ctx) => limited(ctx, async (c) => source.readResource(uri, c)),
    complete: async (params, ctx) => limited(ctx, async (c) => source.complete(params, c)),
    subscribe: async (uri, ctx) => limited(ctx, async (c) => source.subscribe?.(uri, c)),
    unsubscribe: async (uri, ctx) => limited(ctx, async (c) => source.unsubscribe?.(uri, c))
  }
}
