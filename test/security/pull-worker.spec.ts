import { afterEach, describe, expect, it } from 'vitest'
import { cleanup } from '../helpers/index.js'
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
    for (const report of reports) {
      expect.soft(report, 'the victim reported mesh_status output to the attacker').not.toContain(victim.peerId)
      expect.soft(report).not.toMatch(/"paused"\s*:\s*true/)
    }
  })
})

export { never }
