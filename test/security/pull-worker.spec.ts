import { afterEach, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { cleanup, track, waitFor } from '../helpers/index.js'
import { Attacker, METHOD_CLAIM, METHOD_COMPLETE, METHOD_HEARTBEAT, never } from './attacker.js'
import { call, link, resultBody, startNode, submit, waitTask } from './nodes.js'

/**
 * Attacks on a node in its pull-worker role: a hostile peer plays task
 * owner (announces on the task topic, answers `task/claim` as it likes).
 * The victim runs with default trust and export settings; `echo` and
 * `sha256` are exported builtins, `queue_pause` and `mesh_status` are not.
 */

afterEach(cleanup)

/** A claim reply granting `tool` with `args` for the claimed task id. */
function grant(taskId: string, tool: string, args: Record<string, unknown>): Record<string, unknown> {
  return {
    granted: true,
    task: { id: taskId, token: `token-${taskId}`, tool, args, timeoutMs: 10_000, leaseMs: 2_000 }
  }
}

describe('pull worker facing a hostile owner', () => {
  it('claim substitution: runs only the announced exported tool, never the one a claim reply swaps in', async () => {
    const victim = await startNode('victim')
    const attacker = await Attacker.create()
    await link(attacker, victim)
    // Heartbeats and completions are accepted, so the worker reports whatever it ran.
    attacker.on(METHOD_HEARTBEAT, () => ({ ok: true, cancel: false }))
    attacker.on(METHOD_COMPLETE, () => ({ accepted: true }))
    const swaps: Record<string, { tool: string; args: Record<string, unknown> }> = {
      'ctl-1': { tool: 'echo', args: { message: 'control-1' } },
      'evil-pause': { tool: 'queue_pause', args: {} },
      'evil-status': { tool: 'mesh_status', args: {} },
      'ctl-2': { tool: 'echo', args: { message: 'control-2' } }
    }
    attacker.on(METHOD_CLAIM, (params) => {
      const id = params.taskId as string
      const swap = swaps[id]
      return swap == null ? { granted: false, reason: 'unknown' } : grant(id, swap.tool, swap.args)
    })
    const completeOf = async (id: string, timeoutMs = 15_000): Promise<Record<string, unknown>> =>
      (await attacker.waitForInbound(METHOD_COMPLETE, { timeoutMs, predicate: (r) => r.params.taskId === id })).params

    // Control: an honest announcement of echo is claimed, run, and completed.
    await attacker.announce([{ id: 'ctl-1', tool: 'echo' }])
    expect(resultBody((await completeOf('ctl-1')).result)).toContain('control-1')

    // Attack: announce echo, grant queue_pause / mesh_status instead.
    await attacker.announce([
      { id: 'evil-pause', tool: 'echo' },
      { id: 'evil-status', tool: 'echo' }
    ])
    await attacker.waitForInbound(METHOD_CLAIM, { predicate: (r) => r.params.taskId === 'evil-status' })
    // A later honest task completing bounds the time the swapped ones had to run.
    await attacker.announce([{ id: 'ctl-2', tool: 'echo' }])
    expect(resultBody((await completeOf('ctl-2')).result)).toContain('control-2')

    const stats = await call<{ paused: boolean }>(victim.node, 'queue_stats')
    const reports = attacker
      .inboundOf(METHOD_COMPLETE)
      .filter((r) => String(r.params.taskId).startsWith('evil-'))
      .map((r) => resultBody(r.params.result))
    expect.soft(stats.paused, 'the victim ran queue_pause for the attacker').toBe(false)
    expect
      .soft(
        reports.filter((r) => r.includes(victim.peerId)).length,
        "reports to the attacker carrying the victim's mesh_status output"
      )
      .toBe(0)
  })

  it("starvation: a flood of announcements whose claims never answer does not starve the node's own tasks", {
    timeout: 90_000
  }, async () => {
    const victim = await startNode('victim')
    // Control: with nobody attacking, a local task runs at once.
    const before = await submit(victim.node, { tool: 'echo', args: { message: 'before' } })
    await waitTask(victim.node, before.id, (t) => t.state === 'succeeded', 10_000, 'control task succeeded')

    const attacker = await Attacker.create()
    await link(attacker, victim)
    attacker.on(METHOD_CLAIM, () => never())
    const tasks = Array.from({ length: 64 }, (_, i) => ({ id: `starve-${i}`, tool: 'echo' }))
    const flood = repeat(async () => {
      await attacker.announce(tasks)
    }, 500)
    // The victim has reserved its worker slots (default 32) for claims that will never be answered.
    await waitFor(() => new Set(attacker.inboundOf(METHOD_CLAIM).map((r) => r.params.taskId)).size >= 32, {
      timeoutMs: 15_000,
      message: '32 claims at the attacker'
    })
    const mine = await submit(victim.node, { tool: 'echo', args: { message: 'mine' } })
    const done = await waitTask(
      victim.node,
      mine.id,
      (t) => t.state !== 'queued' && t.state !== 'running',
      15_000,
      'own task finished while the attacker floods'
    ).catch((err: unknown) => err as Error)
    flood()
    expect(done instanceof Error ? done.message : done.state).toBe('succeeded')
  })

  for (const variant of ['allowPeers', 'trust.tools'] as const) {
    it(`allowlists on the pull path (${variant}): does not claim or run tasks announced by a peer the trust config excludes`, {
      timeout: 90_000
    }, async () => {
      const allowed = await Attacker.create()
      const intruder = await Attacker.create()
      const trust =
        variant === 'allowPeers' ? { allowPeers: [allowed.peerId] } : { tools: { sha256: [allowed.peerId] } }
      const victim = await startNode('victim', { trust })
      for (const peer of [allowed, intruder]) {
        await link(peer, victim)
        peer.on(METHOD_CLAIM, (params) => grant(params.taskId as string, 'sha256', { data: 'pull-allowlist' }))
        peer.on(METHOD_HEARTBEAT, () => ({ ok: true, cancel: false }))
        peer.on(METHOD_COMPLETE, () => ({ accepted: true }))
      }
      // The intruder keeps announcing; only then does the allowed peer announce once.
      let published = 0
      const flood = repeat(async () => {
        published += (await intruder.announce([{ id: `intrude-${published}`, tool: 'sha256' }])) > 0 ? 1 : 0
      }, 300)
      await waitFor(() => published >= 3, { timeoutMs: 15_000, message: 'three intruder announcements delivered' })
      await allowed.announce([{ id: 'allowed-1', tool: 'sha256' }])
      // Control: the allowed peer's task is claimed, run and completed.
      const complete = await allowed.waitForInbound(METHOD_COMPLETE, {
        predicate: (r) => r.params.taskId === 'allowed-1'
      })
      flood()
      const hex = createHash('sha256').update('pull-allowlist').digest('hex')
      expect(resultBody(complete.params.result)).toContain(hex)
      expect.soft(intruder.inboundOf(METHOD_CLAIM).length, 'the victim claimed tasks from an excluded peer').toBe(0)
      expect.soft(intruder.inboundOf(METHOD_COMPLETE).length, 'the victim ran a task for an excluded peer').toBe(0)
    })
  }
})

/** Runs `fn` now and every `ms` until the returned stop function is called (or cleanup). */
function repeat(fn: () => Promise<void>, ms: number): () => void {
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const tick = (): void => {
    if (stopped) return
    fn()
      .catch(() => {})
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, ms)
      })
  }
  tick()
  const stop = (): void => {
    stopped = true
    clearTimeout(timer)
  }
  track('repeating attack', stop)
  return stop
}
