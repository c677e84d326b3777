import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import {
  DEFAULT_LEASE_MS,
  DEFAULT_MAX_FINISHED_TASKS,
  DEFAULT_RESULT_TTL_MS,
  DEFAULT_WORKER_CONCURRENCY
} from '../queue/constants.js'
import { TOOL_NAME_PATTERN, toolMetaSchema } from '../tools/meta.js'
import {
  DEFAULT_IDLE_EXIT_MS,
  DEFAULT_LISTEN,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MDNS_SERVICE_TAG,
  DEFAULT_MESH_NAME,
  RELAY_MAX_RESERVATIONS,
  RELAY_RESERVATION_TTL_MS
} from './defaults.js'

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

/** What every `servers` entry has, whatever its transport. */
const serverSharing = {
  /** Export every imported tool to peers (individual `meta.export` still wins when set). */
  export: z.boolean().default(false),
  /** Metadata applied to every tool imported from this server. */
  meta: toolMetaSchema.partial().default({}),
  /**
   * Probe the server for the 2026-07-28 revision before `initialize` (the MCP SDK
   * starts the command once more for the probe). Off: the plain 2025 `initialize`,
   * which every server speaks; needed only for a server that refuses 2025 clients.
   */
  negotiate: z.boolean().default(false),
  /** Name prefix for imported tools; defaults to `<server-name>.` */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9._-]{0,64}$/)
    .optional()
}

/** A server the node starts as a stdio child (`type` may be omitted, as in MCP clients' config files). */
export const stdioServerSpecSchema = z
  .object({
    type: z.literal('stdio').optional(),
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
    ...serverSharing
  })
  .strict()

/** A remote server reached over Streamable HTTP (`{"type": "http", "url", "headers"}`). */
export const httpServerSpecSchema = z
  .object({
    type: z.literal('http'),
    url: z
      .string()
      .url()
      .refine((value) => /^https?:\/\//u.test(value), { message: 'a server url must be http(s)://' }),
    /** Sent with every request (an `Authorization` header, an API key). */
    headers: z.record(z.string(), z.string()).default({}),
    ...serverSharing
  })
  .strict()

export const serverSpecSchema = z.union([httpServerSpecSchema, stdioServerSpecSchema])

export type ServerSpec = z.infer<typeof serverSpecSchema>
export type StdioServerSpec = z.infer<typeof stdioServerSpecSchema>
export type HttpServerSpec = z.infer<typeof httpServerSpecSchema>

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
            /**
             * `server` answers DHT queries; `client` only asks. `auto` (the
             * default) serves when peers can dial us: a public address
             * confirmed by AutoNAT, or a LAN/loopback mesh (see docs/discovery.md).
             */
            mode: z.enum(['auto', 'server', 'client']).default('auto')
          })
          .strict()
          .prefault({}),
        /** Re-dial of bootstrap peers that are down: exponential backoff with jitter. */
        bootstrap: z
          .object({
            backoffInitialMs: z.number().int().min(100).default(1_000),
            backoffMaxMs: z.number().int().min(100).default(60_000)
          })
          .strict()
          .prefault({}),
        /** Last good peers, kept in the peer store and re-dialled on start. */
        knownPeers: z
          .object({
            enabled: z.boolean().default(true),
            redial: z.number().int().min(0).default(16),
            forgetAfterMs: z
              .number()
              .int()
              .positive()
              .default(30 * 24 * 3_600_000)
          })
          .strict()
          .prefault({}),
        /** Join by name: provide and look up the mesh name's DHT record. */
        meshName: z
          .object({
            enabled: z.boolean().default(true),
            lookupIntervalMs: z.number().int().min(1_000).default(60_000),
            /** Found members are dialled while the node has fewer connected peers than this. */
            targetPeers: z.number().int().min(0).default(32)
          })
          .strict()
          .prefault({})
      })
      .strict()
      .prefault({}),
    mesh: z
      .object({
        name: z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -')
          .default(DEFAULT_MESH_NAME),
        /**
         * Disconnect peers that identify as members of another mesh. Off by
         * default: they still help route the shared DHT, but never join our
         * catalog or tasks (topics are namespaced by mesh name).
         */
        isolate: z.boolean().default(false)
      })
      .strict()
      .prefault({}),
    connections: z
      .object({
        /** Above it libp2p prunes the lowest-tagged peers (see DEFAULT_MAX_CONNECTIONS). */
        maxConnections: z.number().int().min(1).default(DEFAULT_MAX_CONNECTIONS),
        maxParallelDials: z.number().int().min(1).default(100),
        /** Inbound dials per second per IP; libp2p's default of 5 breaks many peers on one host. */
        inboundConnectionThreshold: z.number().int().min(1).default(100),
        maxIncomingPendingConnections: z.number().int().min(1).default(100),
        dialTimeoutMs: z.number().int().positive().default(10_000),
        /** Below this many connected peers, known peers are re-dialled (every 10 s). */
        minConnections: z.number().int().min(0).default(8),
        maxDialQueueLength: z.number().int().min(1).default(500),
        maxPeerAddrsToDial: z.number().int().min(1).default(25),
        /** Open inbound connections per remote IP (loopback exempt). */
        maxConnectionsPerIp: z.number().int().min(1).default(32)
      })
      .strict()
      .prefault({}),
    /** Circuit relay v2. */
    relay: z
      .object({
        /** Act as a relay for other peers (`--relay`). */
        server: z.boolean().default(false),
        /**
         * Reserve slots on relays and advertise `/p2p-circuit` addresses:
         * `auto` when the node has no direct listen address or is not
         * reachable from the WAN, `always`, or `off`.
         */
        client: z.enum(['auto', 'always', 'off']).default('auto'),
        maxReservations: z.number().int().min(1).default(RELAY_MAX_RESERVATIONS),
        /** A reservation not refreshed within this long is dropped, with its circuits. */
        reservationTtlMs: z.number().int().min(1_000).default(RELAY_RESERVATION_TTL_MS),
        /**
         * Cap every relayed connection (duration and data, defaults in
         * src/config/defaults.ts). On by default: a relay open to strangers must
         * not be an unlimited pipe. The mesh's protocols (`/mcp+p2p`, gossipsub,
         * the member protocol) run on such limited connections, and a relayed
         * peer is upgraded to a direct connection where one is possible.
         */
        limitCircuits: z.boolean().default(true),
        /** Per relayed connection; setting either one turns the limits on. */
        limitDurationMs: z.number().int().positive().optional(),
        limitDataBytes: z.number().int().positive().optional()
      })
      .strict()
      .prefault({}),
    /** NAT traversal services. */
    nat: z
      .object({
        /** Ask peers to dial our observed addresses (AutoNAT v1) and answer their requests. */
        autonat: z.boolean().default(true),
        /** Upgrade relayed connections to direct ones (hole punching). */
        dcutr: z.boolean().default(true),
        /** Map ports on the gateway with UPnP / NAT-PMP. */
        upnp: z.boolean().default(false)
      })
      .strict()
      .prefault({}),
    /** `/mcp+p2p/1.0.0` limits; defaults in src/mesh/constants.ts. */
    protocol: z
      .object({
        maxFrameBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .optional(),
        requestTimeoutMs: z.number().int().positive().optional(),
        idleTimeoutMs: z.number().int().positive().optional(),
        maxInboundConcurrencyPerPeer: z.number().int().min(1).optional(),
        maxRequestsPerSecondPerPeer: z.number().int().min(1).optional(),
        /** A frame must be complete this long after its first byte, or the stream is aborted. */
        frameTimeoutMs: z.number().int().min(50).optional(),
        /** Budgets for bytes of partial frames buffered, per peer and over all peers. */
        maxPartialFrameBytesPerPeer: z.number().int().min(1024).optional(),
        maxPartialFrameBytes: z.number().int().min(1024).optional(),
        /** Node-wide caps: inbound streams, and inbound calls accepted (running or waiting). */
        maxInboundStreams: z.number().int().min(1).optional(),
        maxInboundCalls: z.number().int().min(1).optional()
      })
      .strict()
      .default({}),
    /** Tool catalog (gossipsub adverts + DHT provider records); defaults in src/mesh/constants.ts. */
    catalog: z
      .object({
        advertIntervalMs: z.number().int().min(100).optional(),
        /** A peer silent for this long is dropped from the catalog. */
        peerTtlMs: z.number().int().min(500).optional(),
        /**
         * Publish a DHT provider record per exported tool (off by default; the
         * mesh-name record is always published). Measured (bench/RESULTS-scale.md):
         * 4.4x the DHT RPCs of a node's start (a walk and an ADD_PROVIDER round
         * per tool, again on every tool change) and nothing at idle; they only
         * serve the dispatcher's look-up on a catalog miss, which signed records
         * and anti-entropy make rare.
         */
        dhtProvide: z.boolean().default(false)
      })
      .strict()
      .default({ dhtProvide: false }),
    /** Task queue; defaults in src/queue/constants.ts. */
    queue: z
      .object({
        /** auto: push to a known free worker, else announce for pull; push or pull force one mode. */
        dispatch: z.enum(['auto', 'push', 'pull']).default('auto'),
        leaseMs: z.number().int().min(200).max(600_000).default(DEFAULT_LEASE_MS),
        resultTtlMs: z
          .number()
          .int()
          .min(1000)
          .default(24 * 3_600_000),
        /** Most finished tasks kept (the oldest finished go first, before their TTL): bounds what retention holds. */
        maxFinishedTasks: z.number().int().min(1).max(10_000_000).default(DEFAULT_MAX_FINISHED_TASKS),
        /**
         * fsync every journal batch: acknowledged tasks survive a power loss
         * too, not only a crash of the process, at one disk flush per group
         * commit (docs/queue.md).
         */
        syncWrites: z.boolean().default(false),
        worker: z
          .object({ maxConcurrency: z.number().int().min(1).max(4096).default(DEFAULT_WORKER_CONCURRENCY) })
          .strict()
          .default({ maxConcurrency: DEFAULT_WORKER_CONCURRENCY })
      })
      .strict()
      .default({
        dispatch: 'auto',
        leaseMs: DEFAULT_LEASE_MS,
        resultTtlMs: DEFAULT_RESULT_TTL_MS,
        maxFinishedTasks: DEFAULT_MAX_FINISHED_TASKS,
        syncWrites: false,
        worker: { maxConcurrency: DEFAULT_WORKER_CONCURRENCY }
      }),
    /** Workflows (DAGs of tool calls on the task queue); defaults in src/workflow/constants.ts. */
    workflow: z
      .object({
        /** Tasks of one workflow in flight at once, when its document sets no maxParallel. */
        defaultMaxParallel: z.number().int().min(1).max(1024).default(16),
        maxSteps: z.number().int().min(1).max(100_000).default(10_000),
        maxForEachItems: z.number().int().min(1).max(100_000).default(10_000),
        /** Finished workflows are deleted from the journal after this long. */
        retentionMs: z
          .number()
          .int()
          .min(1000)
          .default(7 * 24 * 3_600_000),
        /** At most this many finished workflows are kept. */
        maxFinished: z.number().int().min(1).default(1_000)
      })
      .strict()
      .prefault({}),
    mcp: z
      .object({
        /** Streamable HTTP on 127.0.0.1:<port>/mcp; off when absent. */
        httpPort: port.optional(),
        /** Open Streamable HTTP sessions at once; defaults in src/mcp/constants.ts (64). */
        httpMaxSessions: z.number().int().min(1).max(4096).optional(),
        /** A session with no request in flight for this long is closed (default 15 min). */
        httpSessionIdleMs: z.number().int().min(100).optional(),
        /**
         * Require the bearer token on the HTTP endpoint (default true). `false` is
         * for a loopback test node only (the MCP conformance suite sends no header);
         * the node prints a warning when it is off.
         */
        httpAuth: z.boolean().default(true)
      })
      .strict()
      .prefault({}),
    /** How `mcp-mesh start` runs the node (docs/lifecycle.md). */
    lifecycle: z
      .object({
        /**
         * `start` runs the node as a detached process shared by every client
         * of the home (true), or inside the first client's process (false,
         * as `start --foreground`).
         */
        detach: z.boolean().default(true),
        /** The detached node exits this long after its last client detached (`daemon` never does). */
        idleExitMs: z.number().int().min(0).default(DEFAULT_IDLE_EXIT_MS)
      })
      .strict()
      .prefault({}),
    /** `/metrics` (Prometheus text format); always on the HTTP endpoint, behind its token. */
    metrics: z
      .object({
        /** Also serve `/metrics` alone on 127.0.0.1:<port> for a scraper, behind the same bearer token; 0 picks a port. */
        port: z.number().int().min(0).max(65_535).optional(),
        /** Include libp2p's own series (`libp2p_*`) and Node.js process metrics (collected only when metrics are served). */
        libp2p: z.boolean().default(true)
      })
      .strict()
      .prefault({}),
    /** W3C trace context is always carried in `_meta`; spans are exported only when an endpoint is set. */
    tracing: z
      .object({
        /** OTLP/HTTP (JSON) traces URL, e.g. http://127.0.0.1:4318/v1/traces; off when absent. */
        otlpEndpoint: z
          .string()
          .regex(/^https?:\/\/\S+$/, 'an http(s) URL')
          .optional(),
        /** Extra headers of each OTLP request (e.g. an API key of a hosted collector). */
        otlpHeaders: z.record(z.string(), z.string()).default({})
      })
      .strict()
      .prefault({}),
    /** The web dashboard at /dashboard on the HTTP endpoint (needs mcp.httpPort). */
    dashboard: z
      .object({
        enabled: z.boolean().default(true),
        /** How often the page polls /api/state. */
        refreshMs: z.number().int().min(250).max(60_000).default(2_000)
      })
      .strict()
      .prefault({}),
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
        tools: z.record(z.string(), z.array(z.string().min(1))).default({}),
        /**
         * The only peers this node sends calls, tasks and their arguments to
         * (the catalog, the dispatcher and the queue skip every other peer).
         * Absent means any peer of the mesh.
         */
        sendTo: z.array(z.string().min(1)).optional()
      })
      .strict()
      .default({ tools: {} })
  })
  .strict()

export type MeshConfig = z.infer<typeof configSchema>
export type MeshConfigInput = z.input<typeof configSchema>
