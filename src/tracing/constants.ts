import { TRACEPARENT_META_KEY, TRACESTATE_META_KEY } from '@modelcontextprotocol/server'

/** `_meta` keys of W3C trace context, as the MCP SDK exports them. */
export { TRACEPARENT_META_KEY, TRACESTATE_META_KEY }

/** Spans queued for the OTLP exporter before the oldest are dropped. */
export const OTLP_MAX_QUEUE = 2048
/** Spans per OTLP request. */
export const OTLP_MAX_BATCH = 256
/** How often queued spans are sent. */
export const OTLP_FLUSH_INTERVAL_MS = 2_000
/** One OTLP request may take this long. */
export const OTLP_REQUEST_TIMEOUT_MS = 5_000
/** `tracestate` longer than this (the W3C limit is 32 list members) is dropped, not forwarded. */
export const MAX_TRACESTATE_LENGTH = 512
