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

/** Every source's figures, read once per scrape. */
type Snapshot = { [K in keyof Required<MetricsSources>]: ReturnType<Required<MetricsSources>[K]> | undefined }

type Read<T> = (snapshot: Snapshot) => T | undefined

/**
 * Registers gauges and counters whose values are read from the sources when
 * Prometheus scrapes (a pull-model collector): the services keep their own
 * counters in `status()`/`stats()`, and nothing here writes into them.
 */
export class StatusCollector {
  readonly #registry: Registry
  readonly #sources: MetricsSources
  #current?: Snapshot

  constructor(registry: Registry, sources: MetricsSources) {
    this.#registry = registry
    this.#sources = sources
    this.#node()
    this.#router()
    this.#mesh()
    this.#queue()
    this.#workflows()
  }

  /**
   * The sources' figures for this scrape: prom-client collects every metric
   * in one synchronous pass, so the snapshot taken by the first metric serves
   * the rest and is dropped at the next microtask.
   */
  #snapshot(): Snapshot {
    if (this.#current != null) return this.#current
    const s = this.#sources
    const current: Snapshot = {
      node: s.node?.(),
      router: s.router?.(),
      mesh: s.mesh?.(),
      queue: s.queue?.(),
      worker: s.worker?.(),
      workflows: s.workflows?.(),
      localTools: s.localTools?.(),
      tracing: s.tracing?.()
    }
    this.#current = current
    queueMicrotask(() => {
      this.#current = undefined
    })
    return current
  }

  #gauge(name: string, help: string, read: Read<number>): void {
    const snapshot = (): Snapshot => this.#snapshot()
    new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      registers: [this.#registry],
      collect() {
        const value = read(snapshot())
        if (value == null) this.reset()
        else this.set(value)
      }
    })
  }

  #labelledGauge(name: string, help: string, label: string, read: Read<Record<string, number>>): void {
    const snapshot = (): Snapshot => this.#snapshot()
    new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames: [label],
      registers: [this.#registry],
      collect() {
        this.reset()
        for (const [key, value] of Object.entries(read(snapshot()) ?? {})) this.set({ [label]: key }, value)
      }
    })
  }

  /** A counter that mirrors a running total kept by a service. */
  #counter(name: string, help: string, read: Read<number>): void {
    const snapshot = (): Snapshot => this.#snapshot()
    new Counter({
      name: `${METRIC_PREFIX}${name}`,
      help,
      registers: [this.#registry],
      collect() {
        const value = read(snapshot())
        this.reset()
        if (value != null && value > 0) this.inc(value)
      }
    })
  }

  #labelledCounter(name: string, help: string, label: string, read: Read<Record<string, number>>): void {
    const snapshot = (): Snapshot => this.#snapshot()
    new Counter({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames: [label],
      registers: [this.#registry],
      collect() {
        this.reset()
        for (const [key, value] of Object.entries(read(snapshot()) ?? {}))
          if (value > 0) this.inc({ [label]: key }, value)
      }
    })
  }

  #node(): void {
    const snapshot = (): Snapshot => this.#snapshot()
    new Gauge({
      name: `${METRIC_PREFIX}info`,
      help: 'Always 1; the labels name this node.',
      labelNames: ['peer_id', 'version', 'mesh'],
      registers: [this.#registry],
      collect() {
        this.reset()
        const info = snapshot().node
        if (info != null) this.set({ peer_id: info.peerId, version: info.version, mesh: info.meshName }, 1)
      }
    })
    this.#gauge('uptime_seconds', 'Seconds since the node started.', ({ node }) =>
      node == null ? undefined : node.uptimeMs / 1000
    )
    this.#gauge('mcp_sessions', 'Open MCP sessions (stdio, HTTP, local API and peers).', ({ node }) => node?.sessions)
    this.#gauge('local_tools', 'Tools registered on this node.', ({ localTools }) => localTools?.total)
    this.#gauge('exported_tools', 'Tools this node exports to peers.', ({ localTools }) => localTools?.exported)
    this.#counter('trace_spans_total', 'Trace spans this node recorded.', ({ tracing }) => tracing?.spans)
    this.#counter(
      'trace_spans_exported_total',
      'Spans sent to the OTLP endpoint.',
      ({ tracing }) => tracing?.otlp?.exported
    )
    this.#counter(
      'trace_spans_dropped_total',
      'Spans the OTLP exporter dropped.',
      ({ tracing }) => tracing?.otlp?.dropped
    )
  }

  #router(): void {
    this.#labelledCounter(
      'router_calls_total',
      'Calls routed, by route (local, mesh) and failed.',
      'route',
      ({ router }) => {
        const calls = router?.calls
        return calls == null ? undefined : { local: calls.local, mesh: calls.mesh, failed: calls.failed }
      }
    )
  }

  #mesh(): void {
    this.#counter(
      'peer_inbound_calls_total',
      'Tool calls from peers that passed authorization.',
      ({ mesh }) => mesh?.inbound.calls
    )
    this.#counter(
      'peer_inbound_denied_total',
      'Tool calls from peers denied (not exported, not trusted).',
      ({ mesh }) => mesh?.inbound.denied
    )
    this.#counter(
      'peer_inbound_rate_limited_total',
      'Tool calls from peers refused by the per-peer rate limit.',
      ({ mesh }) => mesh?.inbound.rateLimited
    )
    this.#counter(
      'peer_inbound_busy_total',
      'Tool calls from peers refused as busy (per-peer queue full).',
      ({ mesh }) => mesh?.inbound.busy
    )
    this.#gauge('peer_inbound_in_flight', 'Tool calls from peers running now.', ({ mesh }) => mesh?.inbound.inFlight)
    this.#gauge('peer_inbound_queued', 'Tool calls from peers waiting for a slot.', ({ mesh }) => mesh?.inbound.queued)
    this.#gauge('peer_inbound_streams', 'Open inbound /mcp+p2p streams.', ({ mesh }) => mesh?.inbound.streams)
    this.#labelledCounter(
      'protocol_violations_total',
      'Frames or messages refused on /mcp+p2p, by kind.',
      'kind',
      ({ mesh }) => mesh?.inbound.violations
    )
    this.#gauge(
      'peer_outbound_streams',
      'Pooled outbound /mcp+p2p streams.',
      ({ mesh }) => mesh?.outbound.pooledStreams
    )
    this.#counter('dispatch_calls_total', 'Mesh-routed calls dispatched to peers.', ({ mesh }) => mesh?.dispatch?.calls)
    this.#counter(
      'dispatch_failovers_total',
      'Dispatches moved to another provider (the first did not run the call).',
      ({ mesh }) => mesh?.dispatch?.failovers
    )
    this.#counter(
      'dispatch_retries_total',
      'Dispatch attempts repeated under a retry policy.',
      ({ mesh }) => mesh?.dispatch?.retries
    )
    this.#counter(
      'dispatch_no_provider_total',
      'Mesh-routed calls no peer offered.',
      ({ mesh }) => mesh?.dispatch?.noProvider
    )
    this.#counter(
      'dispatch_timeouts_total',
      'Mesh-routed calls that timed out.',
      ({ mesh }) => mesh?.dispatch?.timeouts
    )
    this.#gauge('catalog_peers', 'Peers in the tool catalog.', ({ mesh }) => mesh?.catalog?.peers)
    this.#gauge('catalog_tools', 'Tools offered by peers in the catalog.', ({ mesh }) => mesh?.catalog?.tools)
    this.#counter(
      'catalog_descriptor_fetches_total',
      "tools/list fetches of peers' descriptors.",
      ({ mesh }) => mesh?.catalog?.descriptorFetches
    )
    this.#counter(
      'catalog_descriptor_fetch_errors_total',
      'Failed descriptor fetches.',
      ({ mesh }) => mesh?.catalog?.descriptorFetchErrors
    )
    this.#counter(
      'catalog_descriptor_cache_hits_total',
      'Descriptors reused from the schema-hash cache.',
      ({ mesh }) => mesh?.catalog?.descriptorCacheHits
    )
    this.#counter(
      'catalog_adverts_received_total',
      'Catalog adverts received.',
      ({ mesh }) => mesh?.catalog?.advertsReceived
    )
    this.#counter(
      'catalog_adverts_rejected_total',
      'Catalog adverts rejected.',
      ({ mesh }) => mesh?.catalog?.advertsRejected
    )
    this.#counter('catalog_adverts_sent_total', 'Catalog adverts published.', ({ mesh }) => mesh?.catalog?.advertsSent)
  }

  #queue(): void {
    this.#labelledGauge('tasks', 'Tasks this node owns, by state.', 'state', ({ queue }) => queue?.counts)
    this.#gauge('queue_depth', 'Tasks queued, waiting for a worker.', ({ queue }) => queue?.counts.queued)
    this.#gauge('queue_paused', '1 when the queue is paused.', ({ queue }) =>
      queue == null ? undefined : queue.paused ? 1 : 0
    )
    this.#gauge(
      'queue_throughput_per_second',
      'Tasks finished per second (recent window).',
      ({ queue }) => queue?.throughputPerSec
    )
    this.#gauge('queue_mean_wait_seconds', 'Mean time tasks waited before an attempt started.', ({ queue }) =>
      queue == null ? undefined : queue.meanWaitMs / 1000
    )
    this.#gauge('worker_running', "Tasks this node's worker runs now.", ({ worker }) => worker?.running)
    this.#gauge('worker_slots', "Concurrent tasks this node's worker accepts.", ({ worker }) => worker?.slots)
    this.#counter('worker_tasks_done_total', "Tasks this node's worker finished.", ({ worker }) => worker?.done)
    this.#counter(
      'worker_tasks_failed_total',
      "Tasks this node's worker finished with an error.",
      ({ worker }) => worker?.failed
    )
  }

  #workflows(): void {
    this.#gauge('workflows_active', 'Workflows running on this node.', ({ workflows }) => workflows?.active)
    this.#labelledGauge(
      'workflow_runs',
      'Workflows this node owns (journaled), by state.',
      'state',
      ({ workflows }) => workflows?.byState
    )
  }
}
