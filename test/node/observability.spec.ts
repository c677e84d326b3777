import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it, vi } from 'vitest'
import { parseConfig } from '../../src/config/load.js'
import { NodeObservability } from '../../src/node/observability.js'
import { REPO_ROOT } from '../helpers/index.js'
import { storedTask } from '../queue/fixtures.js'

const execFileAsync = promisify(execFile)

/** In a fresh process (built code): whether prom-client is loaded once a node's observability with `config` is loaded. */
async function loadsPromClient(config: object): Promise<boolean> {
  const script = `
    import { createRequire } from 'node:module'
    const { parseConfig } = await import(${JSON.stringify(join(REPO_ROOT, 'dist/src/config/load.js'))})
    const { NodeObservability } = await import(${JSON.stringify(join(REPO_ROOT, 'dist/src/node/observability.js'))})
    const observability = new NodeObservability(parseConfig(${JSON.stringify(config)}, 'test'), {})
    await observability.load()
    observability.routed({ name: 'echo', route: 'local', outcome: 'ok', durationMs: 1, unknown: false })
    const cache = createRequire(import.meta.url).cache
    process.stdout.write(String(Object.keys(cache).some((path) => path.includes('/prom-client/'))))
  `
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 })
  return stdout.trim() === 'true'
}

describe('NodeObservability', () => {
  it("counts a finished task's spans without building them when nothing exports spans", () => {
    const observability = new NodeObservability(parseConfig({}, 'test'), {})
    const tracer = observability.tracing.tracer
    expect(tracer.exporting).toBe(false)
    const record = vi.spyOn(tracer, 'recordSpan')
    const task = storedTask('t1', { tool: 'noop', args: {}, priority: 5 })
    const before = tracer.finishedCount
    observability.taskEvent(task)
    observability.taskEvent({
      ...task,
      state: 'succeeded',
      attempts: 1,
      history: [{ attempt: 1, worker: 'w', dispatch: 'push', startedAt: 1, finishedAt: 2, outcome: 'succeeded' }]
    })
    // The task's span and its attempt's.
    expect(tracer.finishedCount - before).toBe(2)
    expect(record).not.toHaveBeenCalled()
  })

  it('gives libp2p a metrics plugin only when something can read the metrics', async () => {
    const unread = new NodeObservability(parseConfig({}, 'test'), {})
    expect(unread.metrics.libp2p).toBeUndefined()
    expect(unread.metricsUrls()).toEqual([])

    const http = new NodeObservability(parseConfig({ mcp: { httpPort: 8080 } }, 'test'), {})
    expect(http.metrics.libp2p).toBeDefined()
    expect(http.metricsUrls('http://127.0.0.1:8080')).toEqual(['http://127.0.0.1:8080/metrics'])

    const port = new NodeObservability(parseConfig({ metrics: { port: 9464 } }, 'test'), {})
    expect(port.metrics.libp2p).toBeDefined()

    const off = new NodeObservability(parseConfig({ mcp: { httpPort: 8080 }, metrics: { libp2p: false } }, 'test'), {})
    expect(off.metrics.libp2p).toBeUndefined()
  })

  it('loads prom-client only when something can read the metrics', async () => {
    const [unread, http] = await Promise.all([loadsPromClient({}), loadsPromClient({ mcp: { httpPort: 8080 } })])
    expect(unread).toBe(false)
    expect(http).toBe(true)
  })

  it('records nothing while nothing can read the metrics, and replays what a readable node saw before loading', async () => {
    const unread = new NodeObservability(parseConfig({}, 'test'), {})
    unread.routed({ name: 'echo', route: 'local', outcome: 'ok', durationMs: 1, unknown: false })
    expect(await unread.metrics.calls.toolLatency()).toEqual([])

    const http = new NodeObservability(parseConfig({ mcp: { httpPort: 8080 } }, 'test'), {})
    http.routed({ name: 'echo', route: 'local', outcome: 'ok', durationMs: 4, unknown: false })
    await http.load()
    http.routed({ name: 'echo', route: 'local', outcome: 'ok', durationMs: 2, unknown: false })
    expect(await http.metrics.calls.toolLatency()).toEqual([{ tool: 'echo', route: 'local', calls: 2, meanMs: 3 }])
  })
})
