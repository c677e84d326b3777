import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The installed version of an MCP SDK package, read from its package.json
 * (next to its dist/), or undefined when it cannot be read. The fast paths
 * use it to run only against the release whose internals they were written for.
 */
export function sdkVersion(pkg: '@modelcontextprotocol/server' | '@modelcontextprotocol/client'): string | undefined {
  try {
    const entry = fileURLToPath(import.meta.resolve(pkg))
    const manifest = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as {
      version?: unknown
    }
    return typeof manifest.version === 'string' ? manifest.version : undefined
  } catch {
    return undefined
  }
}
