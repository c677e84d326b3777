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
 * A span's context whose ids are drawn when first read: a span per call on
 * every hop, and without an exporter most are never read (nothing calls
 * out), so most calls draw no random ids at all. Reads as a plain
 * SpanContext; the ids, once drawn, never change.
 */
class DrawnContext implements SpanContext {
  readonly flags: number
  readonly traceState?: string
  #traceId?: string
  #spanId?: string

  constructor(parent: SpanContext | undefined) {
    this.flags = parent?.flags ?? 1
    this.#traceId = parent?.traceId
    if (parent?.traceState != null) this.traceState = parent.traceState
  }

  get traceId(): string {
    this.#traceId ??= newTraceId()
    return this.#traceId
  }

  get spanId(): string {
    this.#spanId ??= newSpanId()
    return this.#spanId
  }

  /** As a plain SpanContext would serialize (JSON, logs). */
  toJSON(): SpanContext {
    return {
      traceId: this.traceId,
      spanId: this.spanId,
      flags: this.flags,
      ...(this.traceState != null ? { traceState: this.traceState } : {})
    }
  }
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

  /** Whether finished spans go to a sink (else they are only counted). */
  get exporting(): boolean {
    return this.#sink != null
  }

  countSpan(): void {
    this.#finished++
  }

  startSpan(name: string, options: SpanOptions = {}): Span {
    const parent = options.parent === undefined ? activeSpan()?.context : (options.parent ?? undefined)
    const context: SpanContext = new DrawnContext(parent)
    // Without a sink a finished span is only counted: its attributes and record are built only
    // for a sink (a span per call on every hop must stay cheap).
    const sink = this.#sink
    let set: SpanAttributes | undefined
    const startMs = sink != null ? nowMs() : 0
    let ended = false
    return {
      context,
      setAttribute: (key, value) => {
        set ??= {}
        set[key] = value
      },
      end: (error) => {
        if (ended) return
        ended = true
        this.#finished++
        if (sink == null) return
        sink.export({
          traceId: context.traceId,
          spanId: context.spanId,
          ...(parent != null ? { parentSpanId: parent.spanId } : {}),
          name,
          kind: options.kind ?? 'internal',
          startMs,
          endMs: nowMs(),
          attributes: { ...this.#attributes, ...options.attributes, ...set },
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
