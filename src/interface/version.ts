import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../util/package-root.js'

/** The package version, read once from package.json so it cannot drift. */
export const VERSION: string = (() => {
  if (PACKAGE_ROOT == null) return '0.0.0'
  try {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string }
    return pkg.version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
})()
/** The agent name this node announces (identify, MCP serverInfo). */
export const AGENT_NAME = 'mcp-mesh'
