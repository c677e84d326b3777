import { logger as createLogger } from '@libp2p/logger'
import type { Logger } from '@libp2p/interface'

/**
 * Component loggers write to stderr (never stdout, which belongs to MCP) and
 * are switched on per component with DEBUG, e.g. `DEBUG=mcp-mesh:*`.
 */
export function meshLogger(component: string): Logger {
  return createLogger(`mcp-mesh:${component}`)
}

/** User-facing notices that are always shown, on stderr. */
export function notice(message: string): void {
  process.stderr.write(`mcp-mesh: ${message}\n`)
}
