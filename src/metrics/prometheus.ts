/**
 * The node's metrics on prom-client: one registry per node, libp2p's
 * Prometheus plugin, the event-driven instruments and the pull collector.
 * Loaded by `src/metrics/index.ts` only when something can read the
 * metrics (a metrics port, the HTTP endpoint's `/metrics`, or a render).
 *
 * @module
 */
import type { ComponentLogger, Metrics } from '@libp2p/interface'
import { type MetricsSources, StatusCollector } from './collector.js'
import { CallInstruments } from './instruments.js'
import { createMetricsRegistry, libp2pMetrics, type NodeRegistry } from './registry.js'
import type { MetricsPage } from './server.js'
import { TaskEventCounters } from './task-events.js'

export class PrometheusMetrics {
  readonly registry: NodeRegistry = createMetricsRegistry()
  readonly libp2p?: (components: { logger: ComponentLogger }) => Metrics
  readonly calls: CallInstruments
  readonly tasks: TaskEventCounters

  constructor(init: { libp2p: boolean }, sources: MetricsSources) {
    if (init.libp2p) this.libp2p = libp2pMetrics(this.registry)
    this.calls = new CallInstruments(this.registry)
    this.tasks = new TaskEventCounters(this.registry)
    new StatusCollector(this.registry, sources)
  }

  async render(): Promise<MetricsPage> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
