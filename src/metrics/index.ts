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
 * prom-client and libp2p's plugin (about 1 MiB of heap, and libp2p's
 * wrapping of every stream) are loaded by `load()`, and only when something
 * can read them (`readable`): a node without the HTTP endpoint or a metrics
 * port never loads them.
 *
 * @example
 * ```ts
 * const metrics = nodeMetrics({ port: 9464 })({ sources: { queue: () => queue.stats() } })
 * await metrics.load()
 * const libp2p = await createLibp2p({ ...options, metrics: metrics.libp2p })
 * await metrics.start()
 * const { contentType, body } = await metrics.render()
 * ```
 *
 * @module
 */
import type { ComponentLogger, Metrics } from '@libp2p/interface'
import type { Task } from '../queue/index.js'
import type { MetricsSources } from './collector.js'
import { MAX_PENDING_OBSERVATIONS } from './constants.js'
import { MetricsNotLoadedError } from './errors.js'
import type { OperationObservation, RouteObservation } from './instruments.js'
import type { PrometheusMetrics } from './prometheus.js'
import { type MetricsAuthorizer, type MetricsPage, MetricsServer } from './server.js'

export * from './constants.js'
export * from './errors.js'
export type { MetricsSources } from './collector.js'
export type { CallOutcome, OperationObservation, RouteObservation } from './instruments.js'
export type { MetricsAuthorizer, MetricsPage } from './server.js'

export interface MetricsInit {
  /** Serve `/metrics` on its own 127.0.0.1 port as well (0 picks one); unset: only on the HTTP endpoint. */
  port?: number
  /** Include libp2p's metrics (default true; only when `readable`). */
  libp2p?: boolean
  /** Checks the metrics port's `Authorization` header (required with `port`). */
  authorize?: MetricsAuthorizer
  /**
   * Something can read the metrics (default true): the HTTP endpoint's
   * `/metrics` or the metrics port. When false, prom-client is not loaded
   * and nothing is recorded (a `render` still loads it and reads the
   * services' figures).
   */
  readable?: boolean
}

export interface MetricsComponents {
  /** Read at scrape time; set before the first scrape, by the composition root. */
  sources: MetricsSources
}

/** The latency histograms fed as calls end. */
export interface CallRecorder {
  route(observation: RouteObservation): void
  operation(observation: OperationObservation): void
  /** Calls and mean latency per tool and route so far (for the dashboard). */
  toolLatency(): Promise<Array<{ tool: string; route: string; calls: number; meanMs: number }>>
}

/** Counters fed by the queue's `task` events. */
export interface TaskRecorder {
  observe(task: Task): void
}

export interface NodeMetrics {
  readonly name: 'metrics'
  /**
   * libp2p's `metrics` option (undefined when `libp2p: false` or not
   * readable). libp2p calls it while it is created: `load()` first.
   */
  readonly libp2p?: (components: { logger: ComponentLogger }) => Metrics
  readonly calls: CallRecorder
  readonly tasks: TaskRecorder
  /** `http://127.0.0.1:PORT/metrics` of the metrics port, while it is served. */
  readonly url: string | undefined
  /** Loads prom-client and creates the instruments (once); a no-op when nothing can read them. */
  load(): Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
  render(): Promise<MetricsPage>
}

class Metrics_ implements NodeMetrics {
  readonly name = 'metrics'
  readonly libp2p?: (components: { logger: ComponentLogger }) => Metrics
  readonly calls: CallRecorder
  readonly tasks: TaskRecorder
  readonly #init: MetricsInit
  readonly #sources: MetricsSources
  readonly #readable: boolean
  readonly #server?: MetricsServer
  #prometheus?: PrometheusMetrics
  #loading?: Promise<PrometheusMetrics>
  /** Observations made before prom-client was loaded (readable only; bounded), replayed once it is. */
  #pending: Array<(prometheus: PrometheusMetrics) => void> = []

  constructor(init: MetricsInit, components: MetricsComponents) {
    this.#init = init
    this.#sources = components.sources
    this.#readable = init.readable ?? true
    if (this.#readable && init.libp2p !== false) {
      this.libp2p = (libp2pComponents) => {
        const factory = this.#prometheus?.libp2p
        if (factory == null) throw new MetricsNotLoadedError()
        return factory(libp2pComponents)
      }
    }
    this.calls = {
      // Per call: no closure when prom-client is loaded, or when nothing can read the metrics.
      route: (observation) => {
        if (this.#prometheus != null) this.#prometheus.calls.route(observation)
        else if (this.#readable) this.#record((prometheus) => prometheus.calls.route(observation))
      },
      operation: (observation) => {
        if (this.#prometheus != null) this.#prometheus.calls.operation(observation)
        else if (this.#readable) this.#record((prometheus) => prometheus.calls.operation(observation))
      },
      toolLatency: async () => {
        if (this.#prometheus == null && !this.#readable) return []
        return (await this.#load()).calls.toolLatency()
      }
    }
    this.tasks = {
      observe: (task) => {
        if (this.#prometheus != null) {
          this.#prometheus.tasks.observe(task)
          return
        }
        if (!this.#readable) return
        // The queue hands on its live task: a replay must see the state of this event.
        const snapshot = { ...task, history: task.history.map((attempt) => ({ ...attempt })) }
        this.#record((prometheus) => prometheus.tasks.observe(snapshot))
      }
    }
    if (init.port != null) {
      // No authorizer means nobody may read the port: fail closed.
      const authorize = init.authorize ?? (async () => false)
      this.#server = new MetricsServer(init.port, async () => this.render(), authorize)
    }
  }

  get url(): string | undefined {
    return this.#server?.url
  }

  async load(): Promise<void> {
    if (this.#readable) await this.#load()
  }

  async start(): Promise<void> {
    await this.load()
    await this.#server?.start()
  }

  async stop(): Promise<void> {
    await this.#server?.stop()
  }

  async render(): Promise<MetricsPage> {
    return (await this.#load()).render()
  }

  #record(observe: (prometheus: PrometheusMetrics) => void): void {
    if (this.#prometheus != null) observe(this.#prometheus)
    else if (this.#readable && this.#pending.length < MAX_PENDING_OBSERVATIONS) this.#pending.push(observe)
  }

  async #load(): Promise<PrometheusMetrics> {
    if (this.#prometheus != null) return this.#prometheus
    this.#loading ??= import('./prometheus.js').then(({ PrometheusMetrics }) => {
      const prometheus = new PrometheusMetrics({ libp2p: this.#readable && this.#init.libp2p !== false }, this.#sources)
      this.#prometheus = prometheus
      const pending = this.#pending
      this.#pending = []
      for (const observe of pending) observe(prometheus)
      return prometheus
    })
    return this.#loading
  }
}

/** The node's metrics, in the js-libp2p factory pattern. */
export function nodeMetrics(init: MetricsInit = {}): (components: MetricsComponents) => NodeMetrics {
  return (components) => new Metrics_(init, components)
}
