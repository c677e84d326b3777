import { z } from 'zod'

const routerMetricsSchema = z.object({
  detections: z.number(),
  byRuntime: z.object({ local: z.number(), mesh: z.number(), auto: z.number() }),
  cacheHits: z.number(),
  cacheMisses: z.number(),
  calls: z.object({ local: z.number(), mesh: z.number(), failed: z.number() })
})

export const serverStatusSchema = z.object({
  name: z.string(),
  state: z.enum(['starting', 'running', 'restarting', 'stopped']),
  tools: z.number().int(),
  restarts: z.number().int(),
  lastError: z.string().optional(),
  nextRestartInMs: z.number().optional()
})

export const meshStatusSchema = z.object({
  peerId: z.string(),
  agentVersion: z.string(),
  version: z.string(),
  meshName: z.string(),
  uptimeMs: z.number(),
  addresses: z.array(z.string()),
  connectedPeers: z.array(z.object({ peerId: z.string(), addresses: z.array(z.string()) })),
  tools: z.object({
    total: z.number(),
    byRuntime: z.object({ local: z.number(), mesh: z.number(), auto: z.number() }),
    byCategory: z.record(z.string(), z.number()),
    exported: z.number(),
    notExported: z.number()
  }),
  router: routerMetricsSchema,
  servers: z.array(serverStatusSchema),
  sessions: z.number().int(),
  /** The authorization gate: the policy in force and every refusal, by path and kind. */
  trust: z.object({
    policy: z.object({
      exportTools: z.array(z.string()),
      allowPeers: z.number().int().optional(),
      perTool: z.number().int(),
      sendTo: z.number().int().optional()
    }),
    inbound: z.record(
      z.string(),
      z.object({ denied: z.number().int(), busy: z.number().int(), 'rate-limited': z.number().int() })
    ),
    outbound: z.record(z.string(), z.number().int())
  }),
  /**
   * The node's process: how it runs (`foreground` inside its first client,
   * `daemon`, or `detached` for a home's clients, exiting `idleExitMs` after
   * the last one left) and the fixed listen ports it could not have.
   */
  process: z
    .object({
      pid: z.number().int(),
      mode: z.enum(['foreground', 'daemon', 'detached']),
      idleExitMs: z.number().int().optional(),
      logFile: z.string().optional(),
      listenFallbacks: z.array(
        z.object({
          configured: z.string(),
          takenPort: z.number().int(),
          replacement: z.string(),
          port: z.number().int().optional()
        })
      )
    })
    .optional(),
  /** URLs the node serves over HTTP (absent without `--http` / `metrics.port`). */
  endpoints: z
    .object({
      mcp: z.string().optional(),
      metrics: z.array(z.string()),
      dashboard: z.string().optional()
    })
    .optional(),
  /** Subsystems added by later layers (mesh protocol limits, catalog, queue) report here. */
  subsystems: z.record(z.string(), z.unknown())
})

export type MeshStatus = z.infer<typeof meshStatusSchema>

export const healthCheckSchema = z.object({
  subsystem: z.string(),
  ok: z.boolean(),
  detail: z.string()
})

export const meshHealthSchema = z.object({ healthy: z.boolean(), checks: z.array(healthCheckSchema) })
export type MeshHealth = z.infer<typeof meshHealthSchema>

/** What the node exposes to its status tools. */
export interface NodeInfo {
  status(): MeshStatus
  health(signal: AbortSignal): Promise<MeshHealth>
}
