import { second } from '../util/time.js'

/** Our own DHT protocol: mcp-mesh nodes must not join (or pollute) the IPFS Amino DHT. */
export const DHT_PROTOCOL = '/mcp-mesh/kad/1.0.0'
export const AGENT_NAME = 'mcp-mesh'

/** Two concurrent pings (doctor plus latency probe) must not fail; libp2p's default is 1. */
export const PING_MAX_OUTBOUND_STREAMS = 8

export const SHUTDOWN_TIMEOUT_MS = 10 * second
