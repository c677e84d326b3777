import { readFileSync } from 'node:fs'

/** The package version, read once from package.json so it cannot drift. */
export const VERSION: string = (() => {
  try {
    const url = new URL('../../../package.json', import.meta.url)
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version?: string }
    return pkg.version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
})()

/** The agent name this node announces (identify, MCP serverInfo). */
export const AGENT_NAME = 'mcp-mesh'
