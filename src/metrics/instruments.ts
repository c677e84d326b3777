import { Histogram, type Registry } from 'prom-client'
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

  /** Calls and mean latency per tool and route so far (for the dashboard). */
  async toolLatency(): Promise<Array<{ tool: string; route: string; calls: number; meanMs: number }>> {
    const totals = new Map<string, { tool: string; route: string; calls: number; sum: number }>()
    for (const value of (await this.#toolCalls.get()).values) {
      const suffix = value.metricName?.endsWith('_count')
        ? 'count'
        : value.metricName?.endsWith('_sum')
          ? 'sum'
          : undefined
      if (suffix == null) continue
      const tool = String(value.labels.tool)
      const route = String(value.labels.route)
      const key = `${tool}\u0000${route}`
      const entry = totals.get(key) ?? { tool, route, calls: 0, sum: 0 }
      if (suffix === 'count') entry.calls += value.value
      else entry.sum += value.value
      totals.set(key, entry)
    }
    return [...totals.values()].map(({ tool, route, calls, sum }) => ({
      tool,
      route,
      calls,
      meanMs: calls === 0 ? 0 : Math.round((sum / calls) * 1000 * 10) / 10
    }))
  }

  #toolLabel(tool: string, unknown = false): string {
    if (unknown) return UNKNOWN_TOOL_LABEL
    if (this.#toolLabels.has(tool)) return tool
    if (this.#toolLabels.size >= MAX_TOOL_LABELS) return OTHER_TOOL_LABEL
    this.#toolLabels.add(tool)
    return tool
  }
}
