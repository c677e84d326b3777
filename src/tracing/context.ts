import { AsyncLocalStorage } from 'node:async_hooks'
import { randomFillSync } from 'node:crypto'
import { afterSettled, attempt } from '../util/settle.js'
import { MAX_TRACESTATE_LENGTH, TRACEPARENT_META_KEY, TRACESTATE_META_KEY } from './constants.js'

/**
 * W3C trace context (https://www.w3.org/TR/trace-context/): the identity of
 * one span, carried across processes as `traceparent` / `tracestate`.
 */
export interface SpanContext {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string
  /** 16 lowercase hex digits, not all zero. */
  spanId: string
  /** Bit 0: sampled. */
  flags: number
  traceState?: string
}

/** What runs "inside" a span: its context, and where child spans are recorded. */
export interface ActiveSpan {
  context: SpanContext
  /** Records a finished child span (the node's tracer); absent for a context taken from a peer's `_meta`. */
  recorder?: SpanRecorder
}

/** The part of a tracer child spans need. */
export interface SpanRecorder {
  startSpan(name: string, options: SpanOptions): Span
  /**
   * False when finished spans go nowhere but a count (no exporter): then a
   * child span (`withSpan`) is only counted (`countSpan`) and `fn` runs in the
   * parent's context. Nothing can tell the difference: the child's id would
   * only have been seen as the parent id of a peer's spans, pointing at a span
   * this node never exports either way, and the trace id is the same.
   */
  readonly exporting?: boolean
  /** Counts a span that was not made (see `exporting`). */
  countSpan?(): void
}

export type SpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer'
export type SpanAttributes = Record<string, string | number | boolean>

export interface SpanOptions {
  kind?: SpanKind
  /** The parent; default: the active span (none: a new trace). */
  parent?: SpanContext | null
  attributes?: SpanAttributes
}

export interface Span {
  readonly context: SpanContext
  setAttribute(key: string, value: string | number | boolean): void
  /** Ends the span; `error` marks its status as an error. Only the first call counts. */
  end(error?: string): void
}

const storage = new AsyncLocalStorage<ActiveSpan>()
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)

/** Random bytes for ids, drawn from a pool refilled in bulk (a span per call must stay cheap). */
const POOL_BYTES = 4096
const pool = Buffer.alloc(POOL_BYTES)
let poolOffset = POOL_BYTES

function randomHex(bytes: number): string {
  if (poolOffset + bytes > POOL_BYTES) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes)
  poolOffset += bytes
  return hex
}

export function newTraceId(): string {
  const id = randomHex(16)
  return id === ZERO_TRACE ? newTraceId() : id
}

export function newSpanId(): string {
  const id = randomHex(8)
  return id === ZERO_SPAN ? newSpanId() : id
}

/** Parses a `traceparent` value; undefined when it is not valid (then a new trace starts). */
export function parseTraceparent(value: unknown, traceState?: unknown): SpanContext | undefined {
  if (typeof value !== 'string' || value.length > 512) return undefined
  let version: string | undefined
  let traceId: string | undefined
  let spanId: string | undefined
  let flags: string | undefined
  let rest: string | undefined
  if (isPlainVersion00(value)) {
    // What every hop of this mesh sends: the regex's answer without the trim, lower-casing and match arrays.
    version = '00'
    traceId = value.slice(3, 35)
    spanId = value.slice(36, 52)
    flags = value.slice(53, 55)
  } else {
    const match = TRACEPARENT.exec(value.trim().toLowerCase())
    if (match == null) return undefined
    ;[, version, traceId, spanId, flags, rest] = match
  }
  // Version ff is invalid; version 00 has nothing after the flags.
  if (version === 'ff' || (version === '00' && rest != null)) return undefined
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined
  const context: SpanContext = { traceId: traceId!, spanId: spanId!, flags: Number.parseInt(flags!, 16) }
  if (typeof traceState === 'string' && traceState.length > 0 && traceState.length <= MAX_TRACESTATE_LENGTH) {
    context.traceState = traceState
  }
  return context
}

/** A `00-<32 hex>-<16 hex>-<2 hex>` value, lower-case, nothing around it (the regex matches it as it is). */
function isPlainVersion00(value: string): boolean {
  if (value.length !== 55 || value.charCodeAt(0) !== 0x30 || value.charCodeAt(1) !== 0x30) return false
  for (let i = 2; i < 55; i++) {
    const code = value.charCodeAt(i)
    if (i === 2 || i === 35 || i === 52) {
      if (code !== 0x2d) return false
    } else if (!((code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66))) return false
  }
  return true
}

export function formatTraceparent(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${(context.flags & 0xff).toString(16).padStart(2, '0')}`
}

/** The trace context of a request's `_meta`, if it carries a valid one. */
export function contextFromMeta(meta: Record<string, unknown> | undefined): SpanContext | undefined {
  if (meta == null) return undefined
  return parseTraceparent(meta[TRACEPARENT_META_KEY], meta[TRACESTATE_META_KEY])
}

/** `_meta` entries that carry `context` to the next hop. */
export function metaFromContext(context: SpanContext): Record<string, string> {
  const meta: Record<string, string> = { [TRACEPARENT_META_KEY]: formatTraceparent(context) }
  if (context.traceState != null) meta[TRACESTATE_META_KEY] = context.traceState
  return meta
}

/** The span active in this async context, if any. */
export function activeSpan(): ActiveSpan | undefined {
  return storage.getStore()
}

/** `_meta` entries for an outbound request made now (empty outside any trace). */
export function activeTraceMeta(): Record<string, string> {
  const active = storage.getStore()
  return active == null ? {} : metaFromContext(active.context)
}

/** Runs `fn` with `active` as the current span (for `fn` and everything it starts). */
export function runInSpan<T>(active: ActiveSpan, fn: () => T): T {
  return storage.run(active, fn)
}

/**
 * Runs `fn` in a child span of the active one, recorded by the active
 * tracer; with no tracer active it just runs `fn`, with a tracer that
 * exports nothing it runs `fn` and counts the span (SpanRecorder.exporting).
 * A rejected promise or a thrown error ends the span as an error; `outcome`
 * may mark a result as one.
 */
export function withSpan<T>(
  name: string,
  options: Omit<SpanOptions, 'parent'>,
  fn: (span: Span | undefined) => Promise<T>,
  outcome?: (value: T) => string | undefined
): Promise<T> {
  const active = storage.getStore()
  const recorder = active?.recorder
  // No span to make: `fn`'s own promise (no async layer, one microtask hop less per call).
  if (recorder == null) return attempt(fn, undefined)
  if (recorder.exporting === false && recorder.countSpan != null) {
    return afterSettled(attempt(fn, undefined), recorder.countSpan.bind(recorder))
  }
  const span = recorder.startSpan(name, { ...options, parent: active!.context })
  return storage.run({ context: span.context, recorder }, async () => {
    try {
      const value = await fn(span)
      span.end(outcome?.(value))
      return value
    } catch (err) {
      span.end(err instanceof Error ? err.message : String(err))
      throw err
    }
  })
}

/**
 * An outbound `tools/call` request with the active trace context added to
 * its `_meta` (unless it carries one already); every other message as it is.
 * Transports call it as they send, so every path that calls a peer's tool
 * (dispatcher, mesh_call, pushed tasks) continues the caller's trace.
 */
export function withTraceContext<M extends object>(message: M): M {
  const request = message as { method?: unknown; id?: unknown; params?: { _meta?: Record<string, unknown> } }
  if (request.method !== 'tools/call' || request.id == null) return message
  const active = storage.getStore()
  if (active == null || request.params?._meta?.[TRACEPARENT_META_KEY] != null) return message
  return {
    ...message,
    params: { ...request.params, _meta: { ...request.params?._meta, ...metaFromContext(active.context) } }
  }
}
