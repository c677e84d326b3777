import { Counter, Histogram, type Registry } from 'prom-client'
import {
  DURATION_BUCKETS_SECONDS,
  MAX_TOOL_LABELS,
  MCP_SERVER_OPERATION_DURATION,
  METRIC_PREFIX,
  OTHER_TOOL_LABEL,
  UNKNOWN_TOOL_LABEL
} from './constants.js'

/** How a call ended: a result, a result with `isError`, or an exception (no result). */
export type CallOutcome = 'ok' | 'tool_error' | 'error'

/** One tool call as the router ran it. */
export interface RouteObservation {
  tool: string
  route: 'local' | 'mesh'
  outcome: CallOutcome
  durationMs: number
  /** The tool is not known here (its name must not become a label value). */
  unknown?: boolean
}

/** One MCP request answered by the front (a session of the local user or of a peer). */
export interface OperationObservation {
  method: string
  tool?: string
  /** `error.type`: the exception's name, or `tool_error` for a result with `isError`. */
  errorType?: string
  caller: 'local' | 'peer'
  durationMs: number
  unknown?: boolean
}

/**
 * The node's event-driven instruments: latency histograms fed as calls end.
 * Tool names become label values only up to MAX_TOOL_LABELS distinct names.
 */
export class CallInstruments {
  readonly #toolCalls: Histogram<'tool' | 'route' | 'outcome'>
  readonly #operations: Histogram<'mcp_method_name' | 'gen_ai_tool_name' | 'error_type' | 'caller'>
  readonly #spans: Counter<'kind'>
  readonly #toolLabels = new Set<string>()

  constructor(registry: Registry) {
    this.#toolCalls = new Histogram({
      name: `${METRIC_PREFIX}tool_call_duration_seconds`,
      help: 'Tool calls routed by this node, by tool, route (local or mesh) and outcome (ok, tool_error, error).',
      labelNames: ['tool', 'route', 'outcome'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers: [registry]
    })
    this.#operations = new Histogram({
      name: MCP_SERVER_OPERATION_DURATION,
      help: 'MCP requests answered by this node (OpenTelemetry mcp.server.operation.duration); caller is local or peer.',
      labelNames: ['mcp_method_name', 'gen_ai_tool_name', 'error_type', 'caller'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers: [registry]
    })
    this.#spans = new Counter({
      name: `${METRIC_PREFIX}trace_spans_total`,
      help: 'Trace spans recorded by this node, by span kind.',
      labelNames: ['kind'],
      registers: [registry]
    })
  }

  route(observation: RouteObservation): void {
    this.#toolCalls.observe(
      {
        tool: this.#toolLabel(observation.tool, observation.unknown),
        route: observation.route,
        outcome: observation.outcome
      },
      observation.durationMs / 1000
    )
  }

  operation(observation: OperationObservation): void {
    this.#operations.observe(
      {
        mcp_method_name: observation.method,
        gen_ai_tool_name: observation.tool == null ? '' : this.#toolLabel(observation.tool, observation.unknown),
        error_type: observation.errorType ?? '',
        caller: observation.caller
      },
      observation.durationMs / 1000
    )
  }

  span(kind: string): void {
    this.#spans.inc({ kind })
  }

  #toolLabel(tool: string, unknown = false): string {
    if (unknown) return UNKNOWN_TOOL_LABEL
    if (this.#toolLabels.has(tool)) return tool
    if (this.#toolLabels.size >= MAX_TOOL_LABELS) return OTHER_TOOL_LABEL
    this.#toolLabels.add(tool)
    return tool
  }
}
