import { RECENT_SPANS } from './constants.js'
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
  /** Finished spans kept for `recent()` (default RECENT_SPANS). */
  recent?: number
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
 * inherit the trace of the active span, finished spans go to a small ring
 * and, when configured, to an exporter.
 */
export class Tracer implements SpanRecorder {
  /** A ring of the last `#max` spans; `#next` is where the next one goes. */
  readonly #recent: FinishedSpan[] = []
  #next = 0
  readonly #max: number
  readonly #sink?: SpanSink
  readonly #attributes: SpanAttributes
  #finished = 0

  constructor(init: TracerInit = {}) {
    this.#max = init.recent ?? RECENT_SPANS
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

  /** The most recent finished spans, oldest first; of one trace when `traceId` is given. */
  recent(traceId?: string): FinishedSpan[] {
    const ordered = [...this.#recent.slice(this.#next), ...this.#recent.slice(0, this.#next)]
    return traceId == null ? ordered : ordered.filter((span) => span.traceId === traceId)
  }

  #record(span: FinishedSpan): void {
    this.#finished++
    if (this.#max > 0) {
      this.#recent[this.#next] = span
      this.#next = (this.#next + 1) % this.#max
    }
    this.#sink?.export(span)
  }
}
