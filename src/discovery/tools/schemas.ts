import { z } from 'zod'
import type { ToolMetaInput } from '../../tools/meta.js'

/** Output schemas shared by the peer tools (this folder's types, as zod). */
export const connectionSchema = z.object({
  id: z.string(),
  direction: z.enum(['inbound', 'outbound']),
  remoteAddr: z.string(),
  relayed: z.boolean(),
  relay: z.string().optional(),
  limited: z.boolean(),
  status: z.string(),
  multiplexer: z.string().optional(),
  encryption: z.string().optional(),
  openedAt: z.number(),
  ageMs: z.number(),
  rttMs: z.number().optional(),
  streams: z.array(z.object({ protocol: z.string().optional(), direction: z.enum(['inbound', 'outbound']) }))
})

export const peerDetailsSchema = z.object({
  peerId: z.string(),
  connected: z.boolean(),
  membership: z.enum(['member', 'foreign', 'other', 'unknown']),
  mesh: z.string().optional(),
  connections: z.array(connectionSchema),
  addresses: z.array(z.object({ multiaddr: z.string(), certified: z.boolean() })),
  protocols: z.array(z.string()),
  agentVersion: z.string().optional(),
  protocolVersion: z.string().optional(),
  tags: z.record(z.string(), z.number()),
  lastSeen: z.number().optional(),
  latencyMs: z.number().optional(),
  pingError: z.string().optional()
})

export const bootstrapPeerSchema = z.object({
  address: z.string(),
  peerId: z.string(),
  state: z.enum(['connected', 'dialing', 'backoff', 'stopped']),
  attempts: z.number().int(),
  consecutiveFailures: z.number().int(),
  lastError: z.string().optional(),
  lastAttemptAt: z.number().optional(),
  lastConnectedAt: z.number().optional(),
  connectedSince: z.number().optional(),
  nextAttemptAt: z.number().optional(),
  nextAttemptInMs: z.number().optional()
})

/** The metadata every peer tool shares: local, category `peers`, priority 7, 10 s, no retry (`extra` overrides). */
export function peerToolMeta(extra: Partial<ToolMetaInput> = {}): ToolMetaInput {
  return {
    runtime: 'local',
    category: 'peers',
    priority: 7,
    timeoutMs: 10_000,
    retry: { policy: 'none', maxAttempts: 1, baseDelayMs: 0, retryOnToolError: false },
    tags: ['admin', 'discovery'],
    ...extra
  }
}
