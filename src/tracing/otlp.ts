import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { OTLP_FLUSH_INTERVAL_MS, OTLP_MAX_BATCH, OTLP_MAX_QUEUE, OTLP_REQUEST_TIMEOUT_MS } from './constants.js'
import type { SpanKind } from './context.js'
import { InvalidOtlpEndpointError } from './errors.js'
import type { FinishedSpan, SpanSink } from './tracer.js'

const log = meshLogger('tracing:otlp')

export interface OtlpExporterInit {
  /** The collector's traces URL, e.g. `http://127.0.0.1:4318/v1/traces` (OTLP/HTTP, JSON encoding). */
  endpoint: string
  /** Extra request headers (e.g. an API key of a hosted collector). */
  headers?: Record<string, string>
  /** `service.name` and friends. */
  resource?: Record<string, string>
  flushIntervalMs?: number
}

export interface OtlpStats {
  exported: number
  dropped: number
  failedRequests: number
}

const KIND: Record<SpanKind, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 }

type OtlpValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean }

function otlpValue(value: string | number | boolean): OtlpValue {
  if (typeof value === 'string') return { stringValue: value }
  if (typeof value === 'boolean') return { boolValue: value }
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value }
}

function attributes(record: Record<string, string | number | boolean>): Array<{ key: string; value: OtlpValue }> {
  return Object.entries(record).map(([key, value]) => ({ key, value: otlpValue(value) }))
}

function nanos(ms: number): string {
  return (BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.round((ms % 1) * 1_000_000))).toString()
}

/** The OTLP/HTTP JSON body of one export request. */
export function otlpBody(spans: readonly FinishedSpan[], resource: Record<string, string>): unknown {
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes(resource) },
        scopeSpans: [
          {
            scope: { name: 'mcp-mesh' },
            spans: spans.map((span) => ({
              traceId: span.traceId,
              spanId: span.spanId,
              ...(span.parentSpanId != null ? { parentSpanId: span.parentSpanId } : {}),
              name: span.name,
              kind: KIND[span.kind],
              startTimeUnixNano: nanos(span.startMs),
              endTimeUnixNano: nanos(span.endMs),
              attributes: attributes(span.attributes),
              status: span.error != null ? { code: 2, message: span.error } : { code: 1 }
            }))
          }
        ]
      }
    ]
  }
}

/**
 * Sends finished spans to an OpenTelemetry collector over OTLP/HTTP with
 * JSON encoding, in batches, from a bounded queue (the oldest are dropped
 * when the collector cannot keep up). Off unless `tracing.otlpEndpoint` is set.
 */
export class OtlpExporter implements SpanSink {
  readonly #init: OtlpExporterInit
  readonly #queue: FinishedSpan[] = []
  readonly stats: OtlpStats = { exported: 0, dropped: 0, failedRequests: 0 }
  #timer?: NodeJS.Timeout
  #sending?: Promise<void>

  constructor(init: OtlpExporterInit) {
    let url: URL
    try {
      url = new URL(init.endpoint)
    } catch {
      throw new InvalidOtlpEndpointError(init.endpoint)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidOtlpEndpointError(init.endpoint)
    this.#init = init
  }

  start(): void {
    if (this.#timer != null) return
    this.#timer = setInterval(() => void this.flush(), this.#init.flushIntervalMs ?? OTLP_FLUSH_INTERVAL_MS)
    this.#timer.unref()
  }

  /** Sends what is queued, then stops the timer. */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.flush()
  }

  export(span: FinishedSpan): void {
    this.#queue.push(span)
    if (this.#queue.length > OTLP_MAX_QUEUE) {
      this.#queue.shift()
      this.stats.dropped++
    }
  }

  /** Sends every queued span (one request per batch); resolves when done. */
  async flush(): Promise<void> {
    while (this.#sending != null) await this.#sending
    if (this.#queue.length === 0) return
    this.#sending = this.#send()
    try {
      await this.#sending
    } finally {
      this.#sending = undefined
    }
  }

  async #send(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, OTLP_MAX_BATCH)
      try {
        const response = await fetch(this.#init.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...this.#init.headers },
          body: JSON.stringify(otlpBody(batch, this.#init.resource ?? { 'service.name': 'mcp-mesh' })),
          signal: AbortSignal.timeout(OTLP_REQUEST_TIMEOUT_MS)
        })
        await response.arrayBuffer().catch(() => undefined)
        if (!response.ok) throw new Error(`HTTP ${response.status}`)
        this.stats.exported += batch.length
      } catch (err) {
        this.stats.failedRequests++
        this.stats.dropped += batch.length
        log('exporting %d spans to %s failed: %s', batch.length, this.#init.endpoint, errorMessage(err))
        return
      }
    }
  }
}
