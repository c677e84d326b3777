import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { TOOL_NAME_PATTERN, toolMetaSchema } from '../tools/meta.js'
import { DEFAULT_LISTEN, DEFAULT_MESH_NAME, DEFAULT_MDNS_SERVICE_TAG } from './defaults.js'

export const multiaddrString = z.string().superRefine((value, ctx) => {
  try {
    multiaddr(value)
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid multiaddr "${value}": ${(err as Error).message}` })
  }
})

/** A bootstrap address must name the peer it dials, so the node can verify it. */
export const bootstrapAddress = multiaddrString.refine((value) => /\/p2p\/[1-9A-Za-z]+$/.test(value), {
  message: 'a bootstrap address must end with /p2p/<peer-id>'
})

const port = z.number().int().min(1).max(65_535)

export const serverSpecSchema = z
  .object({
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
    /** Export every imported tool to peers (individual `meta.export` still wins when set). */
    export: z.boolean().default(false),
    /** Metadata applied to every tool imported from this server. */
    meta: toolMetaSchema.partial().default({}),
    /** Name prefix for imported tools; defaults to `<server-name>.` */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9._-]{0,64}$/)
      .optional()
  })
  .strict()

export type ServerSpec = z.infer<typeof serverSpecSchema>

export const configSchema = z
  .object({
    identity: z
      .object({
        peerId: z.string().min(1),
        /** libp2p private key protobuf, base64 (kubo's `Identity.PrivKey`). */
        privKey: z.string().min(1)
      })
      .strict()
      .optional(),
    addresses: z
      .object({
        listen: z.array(multiaddrString).default([...DEFAULT_LISTEN]),
        announce: z.array(multiaddrString).default([]),
        noAnnounce: z.array(multiaddrString).default([])
      })
      .strict()
      .default({ listen: [...DEFAULT_LISTEN], announce: [], noAnnounce: [] }),
    bootstrap: z.array(bootstrapAddress).default([]),
    discovery: z
      .object({
        mdns: z
          .object({
            enabled: z.boolean().default(true),
            serviceTag: z.string().min(1).default(DEFAULT_MDNS_SERVICE_TAG),
            intervalMs: z.number().int().min(1000).default(10_000)
          })
          .strict()
          .default({ enabled: true, serviceTag: DEFAULT_MDNS_SERVICE_TAG, intervalMs: 10_000 }),
        dht: z
          .object({
            enabled: z.boolean().default(true),
            /** `server` answers DHT queries; `client` only asks. */
            mode: z.enum(['server', 'client']).default('server')
          })
          .strict()
          .default({ enabled: true, mode: 'server' })
      })
      .strict()
      .default({
        mdns: { enabled: true, serviceTag: DEFAULT_MDNS_SERVICE_TAG, intervalMs: 10_000 },
        dht: { enabled: true, mode: 'server' }
      }),
    mesh: z
      .object({
        name: z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -')
          .default(DEFAULT_MESH_NAME)
      })
      .strict()
      .default({ name: DEFAULT_MESH_NAME }),
    connections: z
      .object({
        maxConnections: z.number().int().min(1).default(300),
        maxParallelDials: z.number().int().min(1).default(100),
        /** Inbound dials per second per IP; libp2p's default of 5 breaks many peers on one host. */
        inboundConnectionThreshold: z.number().int().min(1).default(100),
        maxIncomingPendingConnections: z.number().int().min(1).default(100),
        dialTimeoutMs: z.number().int().positive().default(10_000)
      })
      .strict()
      .default({
        maxConnections: 300,
        maxParallelDials: 100,
        inboundConnectionThreshold: 100,
        maxIncomingPendingConnections: 100,
        dialTimeoutMs: 10_000
      }),
    /** `/mcp+p2p/1.0.0` limits; defaults in src/mesh/constants.ts. */
    protocol: z
      .object({
        maxFrameBytes: z.number().int().min(1024).max(64 * 1024 * 1024).optional(),
        requestTimeoutMs: z.number().int().positive().optional(),
        idleTimeoutMs: z.number().int().positive().optional(),
        maxInboundConcurrencyPerPeer: z.number().int().min(1).optional(),
        maxRequestsPerSecondPerPeer: z.number().int().min(1).optional()
      })
      .strict()
      .default({}),
    /** Tool catalog (gossipsub adverts + DHT provider records); defaults in src/mesh/constants.ts. */
    catalog: z
      .object({
        advertIntervalMs: z.number().int().min(100).optional(),
        /** A peer silent for this long is dropped from the catalog. */
        peerTtlMs: z.number().int().min(500).optional(),
        dhtProvide: z.boolean().default(true)
      })
      .strict()
      .default({ dhtProvide: true }),
    mcp: z
      .object({
        /** Streamable HTTP on 127.0.0.1:<port>/mcp; off when absent. */
        httpPort: port.optional()
      })
      .strict()
      .default({}),
    /** ES modules whose exports are tool definitions (paths relative to the home). */
    tools: z.array(z.string().min(1)).default([]),
    /** MCP servers to run as children and share, like claude_desktop_config `mcpServers`. */
    servers: z
      .record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'server names use A-Z a-z 0-9 _ -'), serverSpecSchema)
      .default({}),
    /** Extra tools to export to peers by name, on top of each tool's `meta.export`. */
    export: z
      .object({ tools: z.array(z.string().regex(TOOL_NAME_PATTERN)).default([]) })
      .strict()
      .default({ tools: [] }),
    /**
     * Which peers may call exported tools. An absent list means any peer of the
     * mesh; `tools` adds a per-tool allowlist on top of the global one.
     */
    trust: z
      .object({
        allowPeers: z.array(z.string().min(1)).optional(),
        tools: z.record(z.string(), z.array(z.string().min(1))).default({})
      })
      .strict()
      .default({ tools: {} })
  })
  .strict()

export type MeshConfig = z.infer<typeof configSchema>
export type MeshConfigInput = z.input<typeof configSchema>
