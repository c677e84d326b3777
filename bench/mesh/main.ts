/** `node dist/bench/mesh/main.js`: the mesh-call section alone (npm run bench runs it too). */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../foundation/paths.js'
import { disposeAll } from '../foundation/processes.js'
import { renderMeshCalls, runMeshCalls } from './calls.js'

try {
  const results = await runMeshCalls()
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(join(ROOT, 'bench', 'RESULTS-mesh.md'), renderMeshCalls(results))
} finally {
  await disposeAll()
}
process.exit(0)
