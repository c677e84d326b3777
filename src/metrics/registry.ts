import type { ComponentLogger, Metrics } from '@libp2p/interface'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { type Metric, Registry } from 'prom-client'

/**
 * One registry per node, never prom-client's global one, so several nodes in
 * one process (tests, benches) keep their series apart. A second metric of a
 * name already registered is ignored instead of throwing: libp2p's metrics
 * plugin keeps a process-wide name cache, and a second node in the same
 * process must not crash the first when it registers a late metric.
 */
export class NodeRegistry extends Registry {
  override registerMetric<T extends string>(metric: Metric<T>): void {
    const name = (metric as unknown as { name: string }).name
    if (this.getSingleMetric(name) != null) return
    super.registerMetric(metric)
  }
}

export function createMetricsRegistry(): NodeRegistry {
  return new NodeRegistry()
}

/**
 * libp2p's own metrics (`libp2p_*`, connections, streams, bytes per protocol,
 * plus Node.js process metrics) in `registry`: pass the result as libp2p's
 * `metrics` option.
 */
export function libp2pMetrics(registry: Registry): (components: { logger: ComponentLogger }) => Metrics {
  return prometheusMetrics({ registry, collectDefaultMetrics: true })
}
