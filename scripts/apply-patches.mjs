#!/usr/bin/env node
// Applies patches/*.mjs to installed packages (run by `postinstall`).
// Each patch names a package, the versions it fits, one file and exact text
// edits. Idempotent: an edit already applied is skipped. A package that is
// missing, or of another version, is left alone with a warning; a file whose
// text matches neither side of an edit fails the install (the patch is stale).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dir = join(root, 'patches')
let failed = false
// A patch file exports one patch, or several sharing their edits (one SDK fix in two packages).
const patches = []
for (const name of readdirSync(dir)
  .filter((f) => f.endsWith('.mjs'))
  .sort()) {
  const exported = (await import(pathToFileURL(join(dir, name)).href)).default
  for (const patch of Array.isArray(exported) ? exported : [exported]) patches.push({ name, patch })
}
for (const { name, patch } of patches) {
  const pkgDir = join(root, 'node_modules', patch.package)
  if (!existsSync(join(pkgDir, 'package.json'))) {
    process.stderr.write(`patches: ${name}: ${patch.package} is not installed, skipped\n`)
    continue
  }
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version
  if (!patch.versions.test(version)) {
    process.stderr.write(`patches: ${name}: ${patch.package}@${version} is not a version it fits, skipped\n`)
    continue
  }
  const file = join(pkgDir, patch.file)
  let text = readFileSync(file, 'utf8')
  let changed = 0
  let stale = false
  for (const edit of patch.edits) {
    if (text.includes(edit.to)) continue
    if (!text.includes(edit.from)) {
      process.stderr.write(`patches: ${name}: ${patch.package}@${version} ${patch.file} has changed; patch is stale\n`)
      failed = true
      stale = true
      continue
    }
    text = text.replace(edit.from, edit.to)
    changed++
  }
  if (changed > 0) writeFileSync(file, text)
  if (stale) continue
  process.stderr.write(
    `patches: ${name}: ${changed > 0 ? 'applied' : 'already applied'} (${patch.package}@${version})\n`
  )
}
process.exit(failed ? 1 : 0)
