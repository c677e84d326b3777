/**
 * Metrics: `/metrics` in the Prometheus text format. libp2p's own series
 * (`libp2p_*`, through `@libp2p/prometheus-metrics`) and the node's
 * (`mcp_mesh_*`, plus `mcp_server_operation_duration_seconds` after the
 * OpenTelemetry MCP conventions) share one registry per node.
 *
 * Event-driven instruments (call latencies, task events) are fed by the
 * composition root; everything else is read from the services'
 * `status()`/`stats()` when Prometheus scrapes.
 *
 * @example
 * ```ts
 * const metrics = nodeMetrics({ port: 9464 })({ sources: { queue: () => queue.stats() } })
 * const libp2p = await createLibp2p({ ...options, metrics: metrics.libp2p })
 * await metrics.start()
 * const { contentType, body } = await metrics.render()
 * ```
 *
 * @module
 */
import type { ComponentLogger, Metrics } from '@libp2p/interface'
import type { Registry } from 'prom-client'
import { CallInstruments } from './instruments.js'
import { type MetricsSources, StatusCollector } from './collector.js'
import { createMetricsRegistry, libp2pMetrics } from './registry.js'
import { type MetricsAuthorizer, type MetricsPage, MetricsServer } from './server.js'
import { TaskEventCounters } from './task-events.js'

export * from './constants.js'
export * from './errors.js'
export type { MetricsSources } from './collector.js'
export type { CallOutcome, OperationObservation, RouteObservation } from './instruments.js'
export { createMetricsRegistry, libp2pMetrics, NodeRegistry } from './registry.js'
export type { MetricsAuthorizer, MetricsPage } from './server.js'

export interface MetricsInit {
  /** Serve `/metrics` on its own 127.0.0.1 port as well (0 picks one); unset: only on the HTTP endpoint. */
  port?: number
  /** Include libp2p's metrics (default true). */
  libp2p?: boolean
  /** Checks the metrics port's `Authorization` header (required with `port`). */
  authorize?: MetricsAuthorizer
}

export interface MetricsComponents {
  /** Read at scrape time; set before the first scrape, by the composition root. */
  sources: MetricsSources
}

export interface NodeMetrics {
  readonly name: 'metrics'
  readonly registry: Registry
  /** libp2p's `metrics` option (undefined when `libp2p: false`). */
  readonly libp2p?: (components: { logger: ComponentLogger }) => Metrics
  readonly calls: CallInstruments
  readonly tasks: TaskEventCounters
  /** `http://127.0.0.1:PORT/metrics` of the metrics port, while it is served. */
  readonly url: string | undefined
  start(): Promise<void>
  stop(): Promise<void>
  render(): Promise<MetricsPage>
}

class Metrics_ implements NodeMetrics {
  readonly name = 'metrics'
  readonly registry = createMetricsRegistry()
  readonly libp2p?: (components: { logger: ComponentLogger }) => Metrics
  readonly calls: CallInstruments
  readonly tasks: TaskEventCounters
  readonly #server?: MetricsServer

  constructor(init: MetricsInit, components: MetricsComponents) {
    if (init.libp2p !== false) this.libp2p = libp2pMetrics(this.registry)
    this.calls = new CallInstruments(this.registry)
    this.tasks = new TaskEventCounters(this.registry)
    new StatusCollector(this.registry, components.sources)
    if (init.port != null) {
      // No authorizer means nobody may read the port: fail closed.
      const authorize = init.authorize ?? (async () => false)
      this.#server = new MetricsServer(init.port, async () => this.render(), authorize)
    }
  }

  get url(): string | undefined {
    return this.#server?.url
  }

  async start(): Promise<void> {
    await this.#server?.start()
  }

  async stop(): Promise<void> {
    await this.#server?.stop()
  }

  async render(): Promise<MetricsPage> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}

/** The node's metrics, in the js-libp2p factory pattern. */
export function nodeMetrics(init: MetricsInit = {}): (components: MetricsComponents) => NodeMetrics {
  return (components) => new Metrics_(init, components)
}
