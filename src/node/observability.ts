import { type CallToolResult, ProtocolError } from '@modelcontextprotocol/server'
import type { MeshConfig } from '../config/schema.js'
import { ERROR_CODE_DENIED } from '../mesh/index.js'
import type { FrontInstrumentation } from '../mcp/front.js'
import {
  METRICS_PATH,
  type MetricsAuthorizer,
  type MetricsSources,
  type NodeMetrics,
  nodeMetrics
} from '../metrics/index.js'
import { FINAL_STATES, type Task } from '../queue/index.js'
import type { RoutedCall } from '../router/router.js'
import {
  activeSpan,
  contextFromMeta,
  type FinishedSpan,
  type NodeTracing,
  newSpanId,
  newTraceId,
  nodeTracing,
  runInSpan,
  type SpanContext
} from '../tracing/index.js'
import { rememberBounded } from '../util/bounded.js'
import { ChurnMap } from '../util/churn-map.js'
import { attempt } from '../util/settle.js'

/** Submission contexts remembered for tasks still open (bounded: a flood of tasks must not grow it forever). */
const MAX_OPEN_TASK_TRACES = 10_000
/** Workflows whose trace is remembered, so every step joins the trace of the call that submitted it. */
const MAX_WORKFLOW_TRACES = 1_000

/**
 * Longest tool name a span carries as is (MCP's own limit for tool names):
 * a peer's request may name any string up to the frame limit, and spans are
 * kept in a ring and exported.
 */
const MAX_SPAN_TOOL_NAME = 128

/** A tool name fit for a span: what a peer sent, cut to MAX_SPAN_TOOL_NAME. */
function spanToolName(name: string): string {
  return name.length <= MAX_SPAN_TOOL_NAME ? name : `${name.slice(0, MAX_SPAN_TOOL_NAME)}…`
}

/**
 * The node's metrics and tracing, and the closures that feed them: the
 * front's instrumentation, the router's observer and the queue's task
 * events. Created in the node's constructor (the front needs it before the
 * node starts); the sources are closures over the node's services.
 */
export class NodeObservability {
  readonly metrics: NodeMetrics
  readonly tracing: NodeTracing
  /** Trace context of each open task's submission, so its span joins the submitter's trace. */
  readonly #taskParents = new ChurnMap<string, { parent?: SpanContext; spanId: string }>()
  /** Trace context of each workflow's first step: later steps are submitted from task events, not from the call. */
  readonly #workflowParents = new Map<string, SpanContext>()

  constructor(config: MeshConfig, sources: MetricsSources, authorize?: MetricsAuthorizer) {
    const peerId = config.identity?.peerId ?? 'unknown'
    this.tracing = nodeTracing({
      otlpEndpoint: config.tracing.otlpEndpoint,
      otlpHeaders: config.tracing.otlpHeaders
    })({ peerId })
    // libp2p's metrics wrap every stream's sends and events, and prom-client costs heap: only worth
    // it when something can read them (the HTTP endpoint's /metrics, or the metrics port).
    const readable = config.mcp.httpPort != null || config.metrics.port != null
    this.metrics = nodeMetrics({
      port: config.metrics.port,
      libp2p: config.metrics.libp2p && readable,
      readable,
      authorize
    })({
      sources: { ...sources, tracing: () => this.tracing.status() }
    })
  }

  /** Loads the metrics' prom-client side when something can read them: before libp2p is created (its plugin). */
  async load(): Promise<void> {
    await this.metrics.load()
  }

  async start(): Promise<void> {
    await this.tracing.start()
    await this.metrics.start()
  }

  async stop(): Promise<void> {
    await this.metrics.stop()
    await this.tracing.stop()
  }

  /** Where /metrics is served: its own port, and the HTTP endpoint at `httpOrigin` when there is one. */
  metricsUrls(httpOrigin?: string): string[] {
    const urls = [this.metrics.url, httpOrigin != null ? `${httpOrigin}${METRICS_PATH}` : undefined]
    return urls.filter((url) => url != null)
  }

  /** Where /metrics is served, and what tracing recorded and exported (a health check's detail). */
  detail(httpOrigin?: string): string {
    const metrics = this.metricsUrls(httpOrigin)
    const tracing = this.tracing.status()
    const otlp =
      tracing.otlp == null
        ? 'otlp off'
        : `otlp ${tracing.otlp.endpoint}: ${tracing.otlp.exported} exported, ${tracing.otlp.dropped} dropped`
    return `metrics ${metrics.length > 0 ? metrics.join(', ') : 'not served (no --http, no metrics.port)'}; ${tracing.spans} spans, ${otlp}`
  }

  /** A server span per tools/call (child of the caller's `_meta` trace context), timed as mcp.server.operation.duration. */
  frontInstrumentation(): FrontInstrumentation {
    const tracer = this.tracing.tracer
    return {
      toolCall: (info, run): Promise<CallToolResult> => {
        const caller = info.caller.kind
        const toolName = spanToolName(info.name)
        const span = tracer.startSpan(`tools/call ${toolName}`, {
          kind: 'server',
          // A call's trace comes from its _meta only: a fresh trace when the client sent none.
          parent: contextFromMeta(info.meta) ?? null,
          // Attributes only reach an exporter: none built per call when nothing exports.
          attributes: tracer.exporting
            ? {
                'mcp.method.name': 'tools/call',
                'gen_ai.tool.name': toolName,
                'mcp_mesh.caller': caller,
                ...(info.caller.kind === 'peer' ? { 'mcp_mesh.caller_peer': info.caller.peerId } : {})
              }
            : undefined
        })
        const started = performance.now()
        const observe = (errorType: string | undefined, unknown: boolean): void =>
          this.metrics.calls.operation({
            method: 'tools/call',
            tool: info.name,
            errorType,
            caller,
            durationMs: performance.now() - started,
            unknown
          })
        const running = attempt(runInSpan<Promise<CallToolResult>>, { context: span.context, recorder: tracer }, run)
        // Plain callbacks rather than an async function with try/catch/finally: one promise and
        // microtask hop less per call; the span ends, then the call is observed, as before.
        return running.then(
          (result) => {
            const errorType = result.isError === true ? 'tool_error' : undefined
            span.end(errorType)
            observe(errorType, false)
            return result
          },
          (err: unknown) => {
            const errorType = err instanceof Error ? err.name : 'Error'
            // A denied call names whatever the peer chose: like an unknown tool, its name is no label value.
            const denied = err instanceof ProtocolError && err.code === ERROR_CODE_DENIED
            span.end(err instanceof Error ? err.message : String(err))
            observe(errorType, denied || errorType === 'UnknownToolError' || errorType === 'InvalidToolArgumentsError')
            throw err
          }
        )
      }
    }
  }

  /** The router's observer: tool-call latency by tool, route and outcome. */
  routed(call: RoutedCall): void {
    this.metrics.calls.route({
      tool: call.name,
      route: call.route,
      outcome: call.outcome,
      durationMs: call.durationMs,
      unknown: call.unknown
    })
  }

  /**
   * The queue's `task` event: counters, and once a task is final, its span
   * (submission to end) with one child span per attempt, in the trace that
   * was active when it was submitted (the queue dispatches the first event
   * synchronously inside `submit`).
   */
  taskEvent(task: Task): void {
    this.metrics.tasks.observe(task)
    let entry = this.#taskParents.get(task.id)
    if (entry == null) {
      // A later event of a task already final (its span is recorded) must not be
      // recorded again under whatever trace happens to be active now.
      if (FINAL_STATES.has(task.state)) return
      const workflowId = task.labels.workflowId
      let parent = workflowId != null ? this.#workflowParents.get(workflowId) : undefined
      if (parent == null) {
        parent = activeSpan()?.context
        if (parent != null && workflowId != null)
          rememberBounded(this.#workflowParents, workflowId, parent, MAX_WORKFLOW_TRACES)
      }
      entry = { parent, spanId: newSpanId() }
      rememberBounded(this.#taskParents, task.id, entry, MAX_OPEN_TASK_TRACES)
    }
    if (!FINAL_STATES.has(task.state)) return
    this.#taskParents.delete(task.id)
    this.#recordTask(task, entry)
  }

  #recordTask(task: Task, entry: { parent?: SpanContext; spanId: string }): void {
    const tracer = this.tracing.tracer
    // Without an exporter the task's spans (its own and one per attempt) are only counted, not built.
    if (!tracer.exporting) {
      for (let spans = 1 + task.history.length; spans > 0; spans--) tracer.countSpan()
      return
    }
    const traceId = entry.parent?.traceId ?? newTraceId()
    const step = task.labels.stepId
    const end = task.finishedAt ?? task.updatedAt
    const span: Omit<FinishedSpan, 'attributes'> & { attributes: FinishedSpan['attributes'] } = {
      traceId,
      spanId: entry.spanId,
      ...(entry.parent != null ? { parentSpanId: entry.parent.spanId } : {}),
      name: task.labels.workflowId != null && step != null ? `workflow step ${step}` : `task ${task.tool}`,
      kind: 'producer',
      startMs: task.createdAt,
      endMs: end,
      attributes: {
        'mcp_mesh.task.id': task.id,
        'gen_ai.tool.name': task.tool,
        'mcp_mesh.task.state': task.state,
        'mcp_mesh.task.attempts': task.attempts,
        ...(task.labels.workflowId != null ? { 'mcp_mesh.workflow.id': task.labels.workflowId } : {}),
        ...(step != null ? { 'mcp_mesh.workflow.step': step } : {})
      },
      ...(task.state !== 'succeeded' ? { error: task.error ?? task.state } : {})
    }
    tracer.recordSpan(span)
    for (const attempt of task.history) {
      tracer.recordSpan({
        traceId,
        parentSpanId: entry.spanId,
        name: `task dispatch ${task.tool}`,
        kind: 'client',
        startMs: attempt.startedAt,
        endMs: attempt.finishedAt ?? end,
        attributes: {
          'mcp_mesh.task.id': task.id,
          'mcp_mesh.task.attempt': attempt.attempt,
          'mcp_mesh.task.worker': attempt.worker,
          'mcp_mesh.task.dispatch': attempt.dispatch,
          'mcp_mesh.task.outcome': attempt.outcome ?? 'unknown'
        },
        ...(attempt.outcome != null && attempt.outcome !== 'succeeded'
          ? { error: attempt.error ?? attempt.outcome }
          : {})
      })
    }
  }
}
