/**
 * Traces: W3C trace context carried in MCP `_meta` (`traceparent`,
 * `tracestate`, the keys the MCP SDK exports), so one client call is one
 * trace over every node it touches. A tiny in-house tracer records spans per
 * hop; an OTLP/HTTP JSON exporter is optional and off by default.
 *
 * This folder is a leaf like `src/util/`: any layer may import its context
 * helpers (`withSpan`, `activeTraceMeta`); only `src/node/` creates tracers.
 *
 * @example
 * ```ts
 * const tracing = nodeTracing({ otlpEndpoint: 'http://127.0.0.1:4318/v1/traces' })({ peerId })
 * await tracing.start()
 * const span = tracing.tracer.startSpan('tools/call echo', { kind: 'server', parent: contextFromMeta(meta) })
 * await runInSpan({ context: span.context, recorder: tracing.tracer }, async () => run())
 * span.end()
 * ```
 *
 * @module
 */
import { VERSION } from '../interface/version.js'
import { OtlpExporter, type OtlpStats } from './otlp.js'
import { Tracer } from './tracer.js'

export * from './constants.js'
export * from './context.js'
export * from './errors.js'
export { OtlpExporter, type OtlpExporterInit, type OtlpStats, otlpBody } from './otlp.js'
export { type FinishedSpan, type SpanSink, Tracer, type TracerInit } from './tracer.js'

export interface TracingInit {
  /** OTLP/HTTP traces URL; unset (the default) exports nothing. */
  otlpEndpoint?: string
  otlpHeaders?: Record<string, string>
  flushIntervalMs?: number
}

export interface TracingComponents {
  /** This node's peer id, as `service.instance.id` and on every span. */
  peerId: string
}

export interface TracingStatus {
  spans: number
  otlp?: OtlpStats & { endpoint: string }
}

export interface NodeTracing {
  readonly name: 'tracing'
  readonly tracer: Tracer
  start(): Promise<void>
  stop(): Promise<void>
  status(): TracingStatus
}

class Tracing implements NodeTracing {
  readonly name = 'tracing'
  readonly tracer: Tracer
  readonly #exporter?: OtlpExporter
  readonly #endpoint?: string

  constructor(init: TracingInit, components: TracingComponents) {
    if (init.otlpEndpoint != null) {
      this.#endpoint = init.otlpEndpoint
      this.#exporter = new OtlpExporter({
        endpoint: init.otlpEndpoint,
        headers: init.otlpHeaders,
        flushIntervalMs: init.flushIntervalMs,
        resource: {
          'service.name': 'mcp-mesh',
          'service.version': VERSION,
          'service.instance.id': components.peerId
        }
      })
    }
    this.tracer = new Tracer({ sink: this.#exporter, attributes: { 'mcp_mesh.peer_id': components.peerId } })
  }

  async start(): Promise<void> {
    this.#exporter?.start()
  }

  async stop(): Promise<void> {
    await this.#exporter?.stop()
  }

  status(): TracingStatus {
    return {
      spans: this.tracer.finishedCount,
      ...(this.#exporter != null ? { otlp: { endpoint: this.#endpoint!, ...this.#exporter.stats } } : {})
    }
  }
}

/** The node's tracing, in the js-libp2p factory pattern. */
export function nodeTracing(init: TracingInit = {}): (components: TracingComponents) => NodeTracing {
  return (components) => new Tracing(init, components)
}
