/** `node dist/bench/queue/main.js`: the task-queue section alone (npm run bench runs it too). */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../foundation/paths.js'
import { disposeAll } from '../foundation/processes.js'
import { renderQueueMarkdown, runQueueBench } from './throughput.js'

try {
  const results = await runQueueBench()
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(join(ROOT, 'bench', 'RESULTS-queue.md'), renderQueueMarkdown(results))
} finally {
  await disposeAll()
}
process.exit(0)
