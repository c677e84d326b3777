import {
  activeSpan,
  newSpanId,
  newTraceId,
  type Span,
  type SpanAttributes,
  type SpanContext,
  type SpanKind,
  type SpanOptions,
  type SpanRecorder
} from './context.js'

/** A span once it ended: what exporters and the dashboard see. */
export interface FinishedSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: SpanKind
  /** Epoch milliseconds, fractional. */
  startMs: number
  endMs: number
  attributes: SpanAttributes
  /** Set when the span ended in an error. */
  error?: string
}

/** Receives every finished span (the OTLP exporter). */
export interface SpanSink {
  export(span: FinishedSpan): void
}

export interface TracerInit {
  /** Where finished spans also go (e.g. the OTLP exporter). */
  sink?: SpanSink
  /** Attributes set on every span (e.g. `mcp_mesh.peer_id`). */
  attributes?: SpanAttributes
}

/** Epoch milliseconds with sub-millisecond precision (performance.now is monotonic). */
function nowMs(): number {
  return performance.timeOrigin + performance.now()
}

/**
 * A tiny in-house tracer (no OpenTelemetry SDK): spans get W3C ids, children
 * inherit the trace of the active span, finished spans are counted and,
 * when configured, go to an exporter (nothing is kept in memory).
 */
export class Tracer implements SpanRecorder {
  readonly #sink?: SpanSink
  readonly #attributes: SpanAttributes
  #finished = 0

  constructor(init: TracerInit = {}) {
    this.#sink = init.sink
    this.#attributes = init.attributes ?? {}
  }

  /** Spans finished so far. */
  get finishedCount(): number {
    return this.#finished
  }

  startSpan(name: string, options: SpanOptions = {}): Span {
    const parent = options.parent === undefined ? activeSpan()?.context : (options.parent ?? undefined)
    const context: SpanContext = {
      traceId: parent?.traceId ?? newTraceId(),
      spanId: newSpanId(),
      flags: parent?.flags ?? 1,
      ...(parent?.traceState != null ? { traceState: parent.traceState } : {})
    }
    const attributes: SpanAttributes = { ...this.#attributes, ...options.attributes }
    const startMs = nowMs()
    let ended = false
    return {
      context,
      setAttribute: (key, value) => {
        attributes[key] = value
      },
      end: (error) => {
        if (ended) return
        ended = true
        this.#record({
          traceId: context.traceId,
          spanId: context.spanId,
          ...(parent != null ? { parentSpanId: parent.spanId } : {}),
          name,
          kind: options.kind ?? 'internal',
          startMs,
          endMs: nowMs(),
          attributes,
          ...(error != null ? { error } : {})
        })
      }
    }
  }

  /** Records a span whose times are known after the fact (a task from its journal). */
  recordSpan(
    span: Omit<FinishedSpan, 'spanId' | 'attributes'> & { spanId?: string; attributes?: SpanAttributes }
  ): void {
    this.#record({
      ...span,
      spanId: span.spanId ?? newSpanId(),
      attributes: { ...this.#attributes, ...span.attributes }
    })
  }

  #record(span: FinishedSpan): void {
    this.#finished++
    this.#sink?.export(span)
  }
}
