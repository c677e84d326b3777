import type { FinishedSpan, SpanSink } from '../../src/tracing/index.js'

/** A test-only exporter: keeps the last `max` finished spans in a ring. */
export class RecentSpans implements SpanSink {
  readonly #ring: FinishedSpan[] = []
  readonly #max: number
  /** Where the next span goes. */
  #next = 0

  constructor(max = 256) {
    this.#max = max
  }

  export(span: FinishedSpan): void {
    this.#ring[this.#next] = span
    this.#next = (this.#next + 1) % this.#max
  }

  /** The spans kept, oldest first; of one trace when `traceId` is given. */
  recent(traceId?: string): FinishedSpan[] {
    const ordered = [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)]
    return traceId == null ? ordered : ordered.filter((span) => span.traceId === traceId)
  }
}
