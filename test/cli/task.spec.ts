import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createHome, parseJson, runCli, startDaemon, waitFor } from '../helpers/index.js'

afterEach(cleanup)

describe('mcp-mesh task / queue CLI', () => {
  it('submits, waits, lists, pauses and reports through the local API', async () => {
    const home = await createHome()
    await startDaemon({ home: home.dir })
    const h = ['--home', home.dir]

    const waited = await runCli(['task', 'submit', 'sha256', '--args', '{"data":"abc"}', '--wait', ...h])
    expect(waited.code, waited.stderr).toBe(0)
    expect(parseJson<{ state: string; result: { structuredContent: { hex: string } } }>(waited)).toMatchObject({
      state: 'succeeded',
      result: { structuredContent: { hex: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' } }
    })

    expect((await runCli(['queue', 'pause', ...h])).code).toBe(0)
    const submitted = await runCli(['task', 'submit', 'echo', '--args', '{"message":"later"}', '--priority', '9', ...h])
    const { task } = parseJson<{ task: { id: string; state: string; priority: number } }>(submitted)
    expect(task).toMatchObject({ state: 'queued', priority: 9 })
    const listed = parseJson<{ tasks: Array<{ id: string }> }>(
      await runCli(['task', 'list', '--state', 'queued', ...h])
    )
    expect(listed.tasks.map((t) => t.id)).toEqual([task.id])
    expect((await runCli(['task', 'priority', task.id, '3', ...h])).code).toBe(0)
    expect((await runCli(['queue', 'resume', ...h])).code).toBe(0)
    const result = parseJson<{ state: string }>(await runCli(['task', 'result', task.id, '--wait', ...h]))
    expect(result.state).toBe('succeeded')

    const stats = parseJson<{ counts: { succeeded: number } }>(await runCli(['queue', 'stats', ...h]))
    expect(stats.counts.succeeded).toBe(2)

    // Bad input: usage errors exit 2; queue errors exit 1 with the reason.
    expect((await runCli(['task', 'submit', 'echo', '--args', '{oops', ...h])).code).toBe(2)
    expect((await runCli(['task', 'submit', 'echo', '--priority', '11', ...h])).code).toBe(2)
    const unknown = await runCli(['task', 'status', 'no-such-task', ...h])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('unknown task "no-such-task"')
    const clear = await runCli(['queue', 'clear', 'succeeded', ...h])
    expect(clear.code).toBe(1)
    expect(clear.stderr).toContain('confirm')
    expect(parseJson<{ removed: number }>(await runCli(['queue', 'clear', 'succeeded', '--yes', ...h])).removed).toBe(2)
  })

  it('runs delayed tasks no earlier than runAt and forgets results after their TTL', { timeout: 90_000 }, async () => {
    // Long enough to read the result back on a loaded machine, short enough to watch it expire.
    const home = await createHome({ config: { queue: { resultTtlMs: 6_000 } } })
    await startDaemon({ home: home.dir })
    const h = ['--home', home.dir]
    const { task } = parseJson<{ task: { id: string; runAt: number; createdAt: number } }>(
      await runCli(['task', 'submit', 'echo', '--args', '{"message":"later"}', '--delay', '300', ...h])
    )
    expect(task.runAt).toBeGreaterThanOrEqual(task.createdAt + 300)
    const done = parseJson<{ state: string }>(await runCli(['task', 'result', task.id, '--wait', ...h]))
    expect(done.state).toBe('succeeded')
    const status = parseJson<{ task: { startedAt: number; expiresAt: number } }>(
      await runCli(['task', 'status', task.id, ...h])
    )
    expect(status.task.startedAt).toBeGreaterThanOrEqual(task.runAt)
    expect(status.task.expiresAt).toBeGreaterThan(status.task.startedAt)
    await waitFor(async () => (await runCli(['task', 'status', task.id, ...h])).code === 1, {
      timeoutMs: 30_000,
      intervalMs: 250,
      message: 'result expired'
    })
  })

  it('reports 100% metadata compliance for every built-in tool in mesh_health', async () => {
    const home = await createHome()
    await startDaemon({ home: home.dir })
    const health = parseJson<{ checks: Array<{ subsystem: string; ok: boolean; detail: string }> }>(
      await runCli(['call', 'mesh_health', '--home', home.dir])
    )
    const tools = health.checks.find((check) => check.subsystem === 'tools')
    expect(tools?.detail).toContain('metadata compliance 100%')
    expect(tools?.ok).toBe(true)
  })
})
