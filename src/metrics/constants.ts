/** Prefix of every series of the node's own (libp2p's keep theirs: `libp2p_*`). */
export const METRIC_PREFIX = 'mcp_mesh_'

/**
 * OpenTelemetry MCP semantic conventions' `mcp.server.operation.duration`,
 * in Prometheus form (dots to underscores, unit suffix), as an OTel
 * collector's Prometheus exporter would name it.
 */
export const MCP_SERVER_OPERATION_DURATION = 'mcp_server_operation_duration_seconds'

/** Latency buckets in seconds (the OTel MCP conventions' advice, 10 ms to 5 min). */
export const DURATION_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120, 300
]

/**
 * Distinct tool names used as label values before further names are folded
 * into `_other`: a client calling random names must not grow the series
 * without bound.
 */
export const MAX_TOOL_LABELS = 512
/** Longer tool names (MCP's own limit is 128) are folded into `_other`: a label value is held for the node's life. */
export const MAX_TOOL_LABEL_LENGTH = 128
/** The label value of calls to tools this node does not know. */
export const UNKNOWN_TOOL_LABEL = '_unknown'
export const OTHER_TOOL_LABEL = '_other'

/** `/metrics` as the HTTP endpoint and the metrics port serve it. */
export const METRICS_PATH = '/metrics'
export const METRICS_HOST = '127.0.0.1'

/**
 * Observations kept while prom-client loads (a node loads it before its
 * services start, so only observations made before that wait); beyond
 * this they are dropped.
 */
export const MAX_PENDING_OBSERVATIONS = 1_000
