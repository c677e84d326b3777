/**
 * `node dist/bench/foundation/first-start.js`: the "start → initialize
 * answered ≤ 300 ms, also in the first run after `npm install`". Run it right
 * after `npm ci` in a fresh clone (nothing of this checkout started before):
 * the first `mcp-mesh start` as a client launches it (no TTY: the bridge and
 * the detached node it starts), on a home that does not exist yet (`start`
 * creates it), then two more starts on that home for comparison. Loopback
 * only, mDNS off. Prints one JSON object.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, NODE } from './paths.js'
import { connectStdioWithPid, LOOPBACK, lockHolder, stopProcess } from './processes.js'

interface Start {
  /** ms from spawning `mcp-mesh start` to its initialize answer. */
  initializeMs: number
  /** ms to its first tools/list answer. */
  toolsMs: number
}

async function timeStart(home: string): Promise<Start> {
  const started = performance.now()
  const { client } = await connectStdioWithPid({
    label: 'mcp-mesh start',
    command: NODE,
    args: [BIN, 'start', '--home', home, ...LOOPBACK]
  })
  const initializeMs = performance.now() - started
  await client.listTools()
  const toolsMs = performance.now() - started
  await client.close()
  return { initializeMs, toolsMs }
}

/** `start` detached a node for the home; it outlives the client by design, so stop it here (the next start is cold). */
async function stopNode(home: string): Promise<void> {
  const holder = await lockHolder(home)
  if (holder != null) await stopProcess(holder)
}

const dir = await mkdtemp(join(tmpdir(), 'mcp-mesh-first-start-'))
const home = join(dir, 'home')
try {
  const first = await timeStart(home)
  await stopNode(home)
  const later: Start[] = []
  for (let i = 0; i < 2; i++) {
    later.push(await timeStart(home))
    await stopNode(home)
  }
  process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), first, later }, null, 2)}\n`)
} finally {
  await stopNode(home)
  await rm(dir, { recursive: true, force: true })
}
process.exit(0)
