import { describe, expect, it } from 'vitest'
import {
  activeTraceMeta,
  contextFromMeta,
  formatTraceparent,
  otlpBody,
  parseTraceparent,
  runInSpan,
  TRACEPARENT_META_KEY,
  TRACESTATE_META_KEY,
  Tracer,
  withSpan,
  withTraceContext
} from '../../src/tracing/index.js'
import { RecentSpans } from './recent-spans.js'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const SPAN = '00f067aa0ba902b7'

describe('W3C trace context', () => {
  it('parses and formats traceparent, and refuses invalid ones', () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`, 'a=1')).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      flags: 1,
      traceState: 'a=1'
    })
    expect(formatTraceparent({ traceId: TRACE, spanId: SPAN, flags: 1 })).toBe(`00-${TRACE}-${SPAN}-01`)
    for (const bad of [
      `00-${'0'.repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `ff-${TRACE}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-01-extra`,
      `00-${TRACE.slice(1)}-${SPAN}-01`,
      42,
      undefined
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined()
    }
    // A future version may append fields.
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-00-more`)?.traceId).toBe(TRACE)
    expect(contextFromMeta({ [TRACEPARENT_META_KEY]: `00-${TRACE}-${SPAN}-01` })?.spanId).toBe(SPAN)
  })

  it('parses a plain version-00 value as it parses the same value padded or upper-case', () => {
    const plain = `00-${TRACE}-${SPAN}-01`
    const expected = { traceId: TRACE, spanId: SPAN, flags: 1 }
    expect(parseTraceparent(plain)).toEqual(expected)
    expect(parseTraceparent(` ${plain.toUpperCase()} `)).toEqual(expected)
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-ff`)?.flags).toBe(255)
    for (const bad of [
      `00-${TRACE}-${SPAN}-0g`,
      `00_${TRACE}-${SPAN}-01`,
      `00-${TRACE}_${SPAN}-01`,
      `00-${TRACE}-${SPAN}_01`,
      `00-${TRACE.slice(1)}x-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-01 `.padEnd(57, 'x')
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined()
    }
  })

  it('uses the key names the MCP SDK exports', () => {
    expect(TRACEPARENT_META_KEY).toBe('traceparent')
    expect(TRACESTATE_META_KEY).toBe('tracestate')
  })

  it('adds the active context to outbound tools/call requests only', async () => {
    const spans = new RecentSpans()
    const tracer = new Tracer({ sink: spans })
    const request = {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', _meta: { progressToken: 1 } }
    }
    expect(withTraceContext(request)).toBe(request)
    const root = tracer.startSpan('root', { parent: null })
    await runInSpan({ context: root.context, recorder: tracer }, async () => {
      await withSpan('child', { kind: 'client' }, async (span) => {
        const sent = withTraceContext(request) as typeof request & { params: { _meta: Record<string, unknown> } }
        expect(sent.params._meta.progressToken).toBe(1)
        expect(sent.params._meta[TRACEPARENT_META_KEY]).toBe(formatTraceparent(span!.context))
        expect(activeTraceMeta()[TRACEPARENT_META_KEY]).toBe(formatTraceparent(span!.context))
        const notification = { jsonrpc: '2.0', method: 'notifications/progress', params: {} }
        expect(withTraceContext(notification)).toBe(notification)
        const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }
        expect(withTraceContext(list)).toBe(list)
      })
    })
    root.end()
    const [child, parent] = spans.recent()
    expect(child!.name).toBe('child')
    expect(child!.traceId).toBe(parent!.traceId)
    expect(child!.parentSpanId).toBe(parent!.spanId)
    expect(parent!.parentSpanId).toBeUndefined()
  })

  it('ends a span as an error when its function throws, and runs untraced without a tracer', async () => {
    await expect(withSpan('none', {}, async (span) => span)).resolves.toBeUndefined()
    const spans = new RecentSpans()
    const tracer = new Tracer({ sink: spans })
    const root = tracer.startSpan('root', { parent: null })
    await runInSpan({ context: root.context, recorder: tracer }, async () =>
      withSpan('boom', {}, async () => {
        throw new Error('boom')
      }).catch(() => undefined)
    )
    expect(spans.recent()[0]).toMatchObject({ name: 'boom', error: 'boom' })
  })

  it('only counts a child span when nothing exports, running it in the parent span (its trace goes on)', async () => {
    const tracer = new Tracer()
    const root = tracer.startSpan('root', { parent: null })
    const seen = await runInSpan({ context: root.context, recorder: tracer }, async () =>
      withSpan('child', {}, async (span) => ({ span, meta: activeTraceMeta()[TRACEPARENT_META_KEY] }))
    )
    expect(seen).toEqual({ span: undefined, meta: formatTraceparent(root.context) })
    await runInSpan({ context: root.context, recorder: tracer }, async () =>
      withSpan('boom', {}, async () => {
        throw new Error('boom')
      }).catch(() => undefined)
    )
    root.end()
    expect(tracer.finishedCount).toBe(3)
  })

  it("draws a span's ids once: stable, in the parent's trace, and serialized as a plain context", () => {
    const tracer = new Tracer()
    const root = tracer.startSpan('root', { parent: { traceId: TRACE, spanId: SPAN, flags: 1, traceState: 'a=1' } })
    const child = tracer.startSpan('child', { parent: root.context })
    expect(root.context.traceId).toBe(TRACE)
    expect(child.context.traceId).toBe(TRACE)
    expect(root.context.spanId).toMatch(/^[0-9a-f]{16}$/)
    expect(root.context.spanId).not.toBe('0'.repeat(16))
    expect(root.context.spanId).toBe(root.context.spanId)
    expect(child.context.spanId).not.toBe(root.context.spanId)
    expect(JSON.parse(JSON.stringify(child.context))).toEqual({
      traceId: TRACE,
      spanId: child.context.spanId,
      flags: 1,
      traceState: 'a=1'
    })
    const fresh = tracer.startSpan('fresh', { parent: null }).context
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(fresh.traceId).toBe(fresh.traceId)
    expect(formatTraceparent(fresh)).toBe(`00-${fresh.traceId}-${fresh.spanId}-01`)
  })

  it('hands finished spans to its exporter in order (here a test ring of the last spans, oldest first)', () => {
    const spans = new RecentSpans(2)
    const tracer = new Tracer({ sink: spans })
    for (const name of ['one', 'two', 'three']) tracer.startSpan(name, { parent: null }).end()
    expect(spans.recent().map((span) => span.name)).toEqual(['two', 'three'])
    expect(tracer.finishedCount).toBe(3)
  })

  it('writes OTLP/HTTP JSON', () => {
    const body = otlpBody(
      [
        {
          traceId: TRACE,
          spanId: SPAN,
          name: 'tools/call echo',
          kind: 'server',
          startMs: 1_700_000_000_000.5,
          endMs: 1_700_000_000_010,
          attributes: { 'gen_ai.tool.name': 'echo', attempts: 2, ok: true },
          error: 'failed'
        }
      ],
      { 'service.name': 'mcp-mesh' }
    ) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> }
    const span = body.resourceSpans[0]!.scopeSpans[0]!.spans[0]!
    expect(span).toMatchObject({
      traceId: TRACE,
      spanId: SPAN,
      kind: 2,
      startTimeUnixNano: '1700000000000500000',
      endTimeUnixNano: '1700000000010000000',
      status: { code: 2, message: 'failed' }
    })
    expect(span.attributes).toContainEqual({ key: 'attempts', value: { intValue: '2' } })
  })
})
