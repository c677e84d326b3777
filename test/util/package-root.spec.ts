import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { VERSION } from '../../src/interface/version.js'
import { PACKAGE_ROOT } from '../../src/util/package-root.js'
import { REPO_ROOT } from '../helpers/paths.js'

describe('PACKAGE_ROOT', () => {
  it('is the directory of mcp-mesh’s package.json, found from the module’s own location', () => {
    expect(PACKAGE_ROOT).toBe(REPO_ROOT)
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
    expect(VERSION).toBe(pkg.version)
  })
})
