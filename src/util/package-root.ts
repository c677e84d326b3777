import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE_NAME = 'mcp-mesh'

/**
 * The directory of mcp-mesh's package.json: the nearest ancestor of this module
 * that holds it. Looked up rather than written as a relative path because the
 * same code runs from dist/src/util/ (tsc's output) and from a chunk in
 * dist/bundle/cli/ (scripts/bundle.mjs). Undefined if there is none.
 */
export const PACKAGE_ROOT: string | undefined = (() => {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }
        if (pkg.name === PACKAGE_NAME) return dir
      } catch {}
    }
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
})()
