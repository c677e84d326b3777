import { Counter, Gauge, type Registry } from 'prom-client'
import type { MeshStatus } from '../mesh/index.js'
import type { QueueStats } from '../queue/index.js'
import type { RouterMetrics } from '../router/router.js'
import { METRIC_PREFIX } from './constants.js'

/** The node's figures as its services report them (read at scrape time). */
export interface MetricsSources {
  node?: () => { peerId: string; version: string; meshName: string; uptimeMs: number; sessions: number }
  router?: () => RouterMetrics
  mesh?: () => MeshStatus | undefined
  queue?: () => QueueStats | undefined
  worker?: () => { running: number; slots: number; done: number; failed: number } | undefined
  workflows?: () => { active: number; byState: Record<string, number> } | undefined
  localTools?: () => { total: number; exported: number }
  tracing?: () => { spans: number; otlp?: { exported: number; dropped: number } }
}

type Read<T> = () => T | undefined

/**
 * Registers gauges and counters whose values are read from the sources when
 * Prometheus scrapes (a pull-model collector): the services keep their own
 * counters in `status()`/`stats()`, and nothing here writes into them.
 */
export class StatusCollector {
  readonly #registry: Registry
  readonly #sources: MetricsSources

  constructor(registry: Registry, sources: MetricsSources) {
    this.#registry = registry
    this.#sources = sources
    this.#node()
    this.#router()
    this.#mesh()
    this.#queue()
    this.#workflows()
  }

  #gauge(name: string, help: string, read: Read<number>): void {
    new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      registers: [this.#registry],
      collect() {
        const value = read()
        if (value == null) this.reset()
        else this.set(value)
      }
    })
  }

  #labelledGauge(name: string, help: string, label: string, read: Read<Record<string, number>>): void {
    new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames: [label],
      registers: [this.#registry],
      collect() {
        this.reset()
        for (const [key, value] of Object.entries(read() ?? {})) this.set({ [label]: key }, value)
      }
    })
  }

  /** A counter that mirrors a running total kept by a service. */
  #counter(name: string, help: string, read: Read<number>): void {
    new Counter({
      name: `${METRIC_PREFIX}${name}`,
      help,
      registers: [this.#registry],
      collect() {
        const value = read()
        this.reset()
        if (value != null && value > 0) this.inc(value)
      }
    })
  }

  #labelledCounter(name: string, help: string, label: string, read: Read<Record<string, number>>): void {
    new Counter({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames: [label],
      registers: [this.#registry],
      collect() {
        this.reset()
        for (const [key, value] of Object.entries(read() ?? {})) if (value > 0) this.inc({ [label]: key }, value)
      }
    })
  }

  #node(): void {
    const node = this.#sources.node
    new Gauge({
      name: `${METRIC_PREFIX}info`,
      help: 'Always 1; the labels name this node.',
      labelNames: ['peer_id', 'version', 'mesh'],
      registers: [this.#registry],
      collect() {
        this.reset()
        const info = node?.()
        if (info != null) this.set({ peer_id: info.peerId, version: info.version, mesh: info.meshName }, 1)
      }
    })
    this.#gauge('uptime_seconds', 'Seconds since the node started.', () => {
      const info = node?.()
      return info == null ? undefined : info.uptimeMs / 1000
    })
    this.#gauge('mcp_sessions', 'Open MCP sessions (stdio, HTTP, local API and peers).', () => node?.()?.sessions)
    this.#gauge('local_tools', 'Tools registered on this node.', () => this.#sources.localTools?.().total)
    this.#gauge('exported_tools', 'Tools this node exports to peers.', () => this.#sources.localTools?.().exported)
    const tracing = this.#sources.tracing
    this.#counter('trace_spans_total', 'Trace spans this node recorded.', () => tracing?.().spans)
    this.#counter('trace_spans_exported_total', 'Spans sent to the OTLP endpoint.', () => tracing?.().otlp?.exported)
    this.#counter('trace_spans_dropped_total', 'Spans the OTLP exporter dropped.', () => tracing?.().otlp?.dropped)
  }

  #router(): void {
    const router = this.#sources.router
    this.#labelledCounter('router_calls_total', 'Calls routed, by route (local, mesh) and failed.', 'route', () => {
      const calls = router?.().calls
      return calls == null ? undefined : { local: calls.local, mesh: calls.mesh, failed: calls.failed }
    })
  }

  #mesh(): void {
    const mesh = (): MeshStatus | undefined => this.#sources.mesh?.()
    this.#counter(
      'peer_inbound_calls_total',
      'Tool calls from peers that passed authorization.',
      () => mesh()?.inbound.calls
    )
    this.#counter(
      'peer_inbound_denied_total',
      'Tool calls from peers denied (not exported, not trusted).',
      () => mesh()?.inbound.denied
    )
    this.#counter(
      'peer_inbound_rate_limited_total',
      'Tool calls from peers refused by the per-peer rate limit.',
      () => mesh()?.inbound.rateLimited
    )
    this.#counter(
      'peer_inbound_busy_total',
      'Tool calls from peers refused as busy (per-peer queue full).',
      () => mesh()?.inbound.busy
    )
    this.#gauge('peer_inbound_in_flight', 'Tool calls from peers running now.', () => mesh()?.inbound.inFlight)
    this.#gauge('peer_inbound_queued', 'Tool calls from peers waiting for a slot.', () => mesh()?.inbound.queued)
    this.#gauge('peer_inbound_streams', 'Open inbound /mcp+p2p streams.', () => mesh()?.inbound.streams)
    this.#labelledCounter(
      'protocol_violations_total',
      'Frames or messages refused on /mcp+p2p, by kind.',
      'kind',
      () => mesh()?.inbound.violations
    )
    this.#gauge('peer_outbound_streams', 'Pooled outbound /mcp+p2p streams.', () => mesh()?.outbound.pooledStreams)
    this.#counter('dispatch_calls_total', 'Mesh-routed calls dispatched to peers.', () => mesh()?.dispatch?.calls)
    this.#counter(
      'dispatch_failovers_total',
      'Dispatches moved to another provider (the first did not run the call).',
      () => mesh()?.dispatch?.failovers
    )
    this.#counter(
      'dispatch_retries_total',
      'Dispatch attempts repeated under a retry policy.',
      () => mesh()?.dispatch?.retries
    )
    this.#counter(
      'dispatch_no_provider_total',
      'Mesh-routed calls no peer offered.',
      () => mesh()?.dispatch?.noProvider
    )
    this.#counter('dispatch_timeouts_total', 'Mesh-routed calls that timed out.', () => mesh()?.dispatch?.timeouts)
    this.#gauge('catalog_peers', 'Peers in the tool catalog.', () => mesh()?.catalog?.peers)
    this.#gauge('catalog_tools', 'Tools offered by peers in the catalog.', () => mesh()?.catalog?.tools)
    this.#counter(
      'catalog_descriptor_fetches_total',
      "tools/list fetches of peers' descriptors.",
      () => mesh()?.catalog?.descriptorFetches
    )
    this.#counter(
      'catalog_descriptor_fetch_errors_total',
      'Failed descriptor fetches.',
      () => mesh()?.catalog?.descriptorFetchErrors
    )
    this.#counter(
      'catalog_descriptor_cache_hits_total',
      'Descriptors reused from the schema-hash cache.',
      () => mesh()?.catalog?.descriptorCacheHits
    )
    this.#counter('catalog_adverts_received_total', 'Catalog adverts received.', () => mesh()?.catalog?.advertsReceived)
    this.#counter('catalog_adverts_rejected_total', 'Catalog adverts rejected.', () => mesh()?.catalog?.advertsRejected)
    this.#counter('catalog_adverts_sent_total', 'Catalog adverts published.', () => mesh()?.catalog?.advertsSent)
  }

  #queue(): void {
    const queue = (): QueueStats | undefined => this.#sources.queue?.()
    this.#labelledGauge('tasks', 'Tasks this node owns, by state.', 'state', () => queue()?.counts)
    this.#gauge('queue_depth', 'Tasks queued, waiting for a worker.', () => queue()?.counts.queued)
    this.#gauge('queue_paused', '1 when the queue is paused.', () => {
      const stats = queue()
      return stats == null ? undefined : stats.paused ? 1 : 0
    })
    this.#gauge(
      'queue_throughput_per_second',
      'Tasks finished per second (recent window).',
      () => queue()?.throughputPerSec
    )
    this.#gauge('queue_mean_wait_seconds', 'Mean time tasks waited before an attempt started.', () => {
      const stats = queue()
      return stats == null ? undefined : stats.meanWaitMs / 1000
    })
    this.#gauge('worker_running', "Tasks this node's worker runs now.", () => this.#sources.worker?.()?.running)
    this.#gauge('worker_slots', "Concurrent tasks this node's worker accepts.", () => this.#sources.worker?.()?.slots)
    this.#counter('worker_tasks_done_total', "Tasks this node's worker finished.", () => this.#sources.worker?.()?.done)
    this.#counter(
      'worker_tasks_failed_total',
      "Tasks this node's worker finished with an error.",
      () => this.#sources.worker?.()?.failed
    )
  }

  #workflows(): void {
    const workflows = this.#sources.workflows
    this.#gauge('workflows_active', 'Workflows running on this node.', () => workflows?.()?.active)
    this.#labelledGauge(
      'workflow_runs',
      'Workflows this node owns (journaled), by state.',
      'state',
      () => workflows?.()?.byState
    )
  }
}
