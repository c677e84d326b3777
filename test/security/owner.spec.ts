import { afterEach, describe, expect, it } from 'vitest'
import { ERROR_CODE_BUSY } from '../../src/mesh/constants.js'
import { REFUSAL_COOLDOWN_MS } from '../../src/queue/constants.js'
import { cleanup, track, waitFor } from '../helpers/index.js'
import {
  Attacker,
  advertTool,
  type FrameSession,
  type Json,
  METHOD_CLAIM,
  METHOD_COMPLETE,
  METHOD_HEARTBEAT,
  taskTopic,
  toolDescriptor
} from './attacker.js'
import { call, link, PROVIDER_MODULE, startNode, submit, type TaskView, waitForCatalog, waitTask } from './nodes.js'

/**
 * Attacks on a node in its task-owner role. The owner runs with
 * `queue.dispatch: "pull"` and no tool module, so `remote_double` (offered
 * by the provider fixture) is never run locally or pushed: every task is
 * announced on the task topic and handed out only through `task/claim`.
 */

afterEach(cleanup)

const PULL_OWNER = { queue: { dispatch: 'pull', leaseMs: 2_000 } }
const DOUBLE_INPUT = { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] }

type ClaimAnswer =
  | { granted: true; task: { id: string; token: string; tool: string; timeoutMs: number; leaseMs: number } }
  | { granted: false; reason: string }

/** Waits until the attacker has seen `taskId` in one of `owner`'s task announcements. */
async function announced(attacker: Attacker, owner: string, taskId: string): Promise<void> {
  await waitFor(
    () =>
      attacker.gossip.some(
        (g) =>
          g.topic === taskTopic(attacker.mesh) &&
          g.from === owner &&
          (g.data.tasks as Array<{ id: string }>).some((t) => t.id === taskId)
      ),
    { timeoutMs: 15_000, message: `announcement of ${taskId} seen by the attacker` }
  )
}

/** Claims `taskId`; an RPC error (a refusal) counts as not granted. */
async function claim(session: FrameSession, taskId: string): Promise<ClaimAnswer> {
  try {
    return await session.request<ClaimAnswer>(METHOD_CLAIM, { taskId })
  } catch (err) {
    return { granted: false, reason: (err as Error).message }
  }
}

/** Heartbeats a lease every third of it; `answers` collects the owner's replies. Stopped by cleanup. */
function heartbeat(
  session: FrameSession,
  taskId: string,
  token: string,
  leaseMs: number
): { answers: Array<{ ok: boolean; cancel: boolean }>; stop: () => void } {
  const answers: Array<{ ok: boolean; cancel: boolean }> = []
  const timer = setInterval(
    () => {
      session
        .request<{ ok: boolean; cancel: boolean }>(METHOD_HEARTBEAT, { taskId, token }, 5_000)
        .then((answer) => answers.push(answer))
        .catch(() => {})
    },
    Math.floor(leaseMs / 3)
  )
  const stop = (): void => clearInterval(timer)
  track('attacker heartbeats', stop)
  return { answers, stop }
}

/** Publishes the attacker's advert now and every 400 ms (the owner's peer TTL is 3 s) until cleanup, as a live worker would. */
function keepAdvertising(attacker: Attacker, tools: Json[]): void {
  const publish = (): void => void attacker.advertise({ tools }).catch(() => 0)
  publish()
  const timer = setInterval(publish, 400)
  track('attacker adverts', () => clearInterval(timer))
}

function forged(): Json {
  return {
    content: [{ type: 'text', text: '{"doubled":9999,"node":"forged"}' }],
    structuredContent: { doubled: 9999, node: 'forged' }
  }
}

describe('task owner facing hostile workers', () => {
  it('theft and forgery: refuses a claim from a peer that offers no such tool and never records its result', {
    timeout: 90_000
  }, async () => {
    const owner = await startNode('owner', PULL_OWNER)
    const attacker = await Attacker.create()
    await link(attacker, owner)
    const stolen = await submit(owner.node, {
      tool: 'remote_double',
      args: { n: 21 },
      retry: { policy: 'none', maxAttempts: 1 }
    })
    // Task IDs are public: the owner announces them on the task topic.
    await announced(attacker, owner.peerId, stolen.id)
    const session = await attacker.session(owner.address)
    const answer = await claim(session, stolen.id)
    let completion: { accepted: boolean } | undefined
    if (answer.granted) {
      completion = await session.request<{ accepted: boolean }>(METHOD_COMPLETE, {
        taskId: answer.task.id,
        token: answer.task.token,
        result: forged()
      })
    }

    // Control: an honest worker offering remote_double completes the tasks it can claim.
    const worker = await startNode('W', { tools: [PROVIDER_MODULE] }, ['--bootstrap', owner.address])
    const honest = await submit(owner.node, {
      tool: 'remote_double',
      args: { n: 4 },
      retry: { policy: 'none', maxAttempts: 1 }
    })
    const done = await waitTask(owner.node, honest.id, (t) => t.state === 'succeeded', 30_000, 'honest task done')
    expect(done.worker).toBe(worker.peerId)
    expect(done.result?.structuredContent).toMatchObject({ doubled: 8, node: 'W' })

    expect.soft(answer.granted, `the owner granted its task to a peer offering no such tool`).toBe(false)
    expect.soft(completion?.accepted ?? false, 'the owner accepted a forged completion').toBe(false)
    const after = await waitTask(owner.node, stolen.id, () => true)
    expect.soft(JSON.stringify(after.result ?? null), 'the owner recorded the forged result').not.toContain('forged')
  })

  it('theft by tags: refuses a claim from a catalog worker lacking the tags the task requires', {
    timeout: 90_000
  }, async () => {
    const owner = await startNode('owner', PULL_OWNER)
    // In the catalog, offering remote_double, but without the "gpu" tag.
    const attacker = await Attacker.create({ tools: [toolDescriptor('remote_double', DOUBLE_INPUT)] })
    await link(attacker, owner)
    keepAdvertising(attacker, [advertTool('remote_double', DOUBLE_INPUT)])
    await waitForCatalog(owner.node, attacker.peerId, ['remote_double'])
    const placement = { tags: ['gpu'] }
    const retry = { policy: 'none', maxAttempts: 1 }
    const stolen = await submit(owner.node, { tool: 'remote_double', args: { n: 5 }, placement, retry })
    await announced(attacker, owner.peerId, stolen.id)
    const session = await attacker.session(owner.address)
    const answer = await claim(session, stolen.id)
    let completion: { accepted: boolean } | undefined
    if (answer.granted) {
      completion = await session.request<{ accepted: boolean }>(METHOD_COMPLETE, {
        taskId: answer.task.id,
        token: answer.task.token,
        result: forged()
      })
    }

    // Control: a worker registered with the "gpu" tag runs tagged tasks.
    const worker = await startNode('W', { tools: [PROVIDER_MODULE] }, ['--bootstrap', owner.address])
    await call(worker.node, 'worker_register', { tags: ['gpu'], maxConcurrency: 4 })
    const honest = await submit(owner.node, { tool: 'remote_double', args: { n: 6 }, placement, retry })
    const done = await waitTask(owner.node, honest.id, (t) => t.state === 'succeeded', 30_000, 'honest task done')
    expect(done.worker).toBe(worker.peerId)
    expect(done.result?.structuredContent).toMatchObject({ doubled: 12, node: 'W' })

    expect.soft(answer.granted, 'the owner granted a gpu task to a worker without the gpu tag').toBe(false)
    expect.soft(completion?.accepted ?? false, 'the owner accepted a forged completion').toBe(false)
    const after = await waitTask(owner.node, stolen.id, () => true)
    expect.soft(JSON.stringify(after.result ?? null), 'the owner recorded the forged result').not.toContain('forged')
  })

  it('stall: ends a pull lease kept alive by heartbeats alone once the task timeout (plus grace) has passed', {
    timeout: 90_000
  }, async () => {
    const owner = await startNode('owner', PULL_OWNER)
    // The attacker looks like an honest worker: it advertises remote_double and lists it.
    const attacker = await Attacker.create({ tools: [toolDescriptor('remote_double', DOUBLE_INPUT)] })
    await link(attacker, owner)
    keepAdvertising(attacker, [advertTool('remote_double', DOUBLE_INPUT)])
    await waitForCatalog(owner.node, attacker.peerId, ['remote_double'])
    const session = await attacker.session(owner.address)

    // Control: heartbeats past the lease keep it; completing within the timeout succeeds.
    const honest = await submit(owner.node, {
      tool: 'remote_double',
      args: { n: 1 },
      timeoutMs: 8_000,
      retry: { policy: 'none', maxAttempts: 1 }
    })
    await announced(attacker, owner.peerId, honest.id)
    const granted = await claim(session, honest.id)
    if (!granted.granted) throw new Error(`control claim refused: ${granted.reason}`)
    const beats = heartbeat(session, granted.task.id, granted.task.token, granted.task.leaseMs)
    // Six accepted beats span two leases.
    await waitFor(() => beats.answers.filter((a) => a.ok).length >= 6, { timeoutMs: 10_000, message: '6 heartbeats' })
    beats.stop()
    const accepted = await session.request<{ accepted: boolean }>(METHOD_COMPLETE, {
      taskId: granted.task.id,
      token: granted.task.token,
      result: { content: [{ type: 'text', text: '{"doubled":2}' }], structuredContent: { doubled: 2, node: 'A' } }
    })
    expect(accepted.accepted).toBe(true)
    expect((await waitTask(owner.node, honest.id, (t) => t.state === 'succeeded')).result?.structuredContent).toEqual({
      doubled: 2,
      node: 'A'
    })

    // Attack: claim a task with a 3 s timeout and only ever heartbeat.
    const timeoutMs = 3_000
    const stalled = await submit(owner.node, {
      tool: 'remote_double',
      args: { n: 2 },
      timeoutMs,
      retry: { policy: 'none', maxAttempts: 1 }
    })
    await announced(attacker, owner.peerId, stalled.id)
    const lease = await claim(session, stalled.id)
    if (!lease.granted) throw new Error(`attack claim refused: ${lease.reason}`)
    const claimedAt = Date.now()
    const stall = heartbeat(session, lease.task.id, lease.task.token, lease.task.leaseMs)
    // Owner's grace is 2 s; 3 s more for its sweep interval and a loaded machine.
    const bound = timeoutMs + 2_000 + 3_000
    const ended = await waitTask(
      owner.node,
      stalled.id,
      (t) => t.history[0]?.finishedAt != null,
      bound,
      'owner ended the stalled lease'
    ).catch((err: unknown) => err as Error)
    stall.stop()
    const task = ended instanceof Error ? undefined : (ended as TaskView)
    expect(
      ended instanceof Error ? ended.message : 'ended',
      `lease still held ${Date.now() - claimedAt} ms after the claim`
    ).toBe('ended')
    expect(['timeout', 'lease-lost']).toContain(task?.history[0]?.outcome)
    // Once ended, the lease is not renewed: a heartbeat now is refused. (The last answer of the
    // loop above may predate the end, so ask once more rather than read it.)
    const after = await session.request<{ ok: boolean }>(METHOD_HEARTBEAT, {
      taskId: lease.task.id,
      token: lease.task.token
    })
    expect(after.ok, 'the owner still renews the stalled lease').toBe(false)
  })

  it('re-push flood: a worker refusing every push as busy is pushed to less and less often; control: it gets the task once it runs it', {
    timeout: 90_000
  }, async () => {
    const owner = await startNode('owner', { queue: { dispatch: 'push', leaseMs: 2_000 } })
    const attacker = await Attacker.create({ tools: [toolDescriptor('remote_double', DOUBLE_INPUT)] })
    await link(attacker, owner)
    keepAdvertising(attacker, [advertTool('remote_double', DOUBLE_INPUT)])
    await waitForCatalog(owner.node, attacker.peerId, ['remote_double'])
    let refusing = true
    attacker.on('tools/call', () => {
      if (refusing)
        throw Object.assign(new Error("busy: the worker's slots for peers are full"), { code: ERROR_CODE_BUSY })
      return { content: [{ type: 'text', text: '{"doubled":10}' }], structuredContent: { doubled: 10 } }
    })
    const task = await submit(owner.node, {
      tool: 'remote_double',
      args: { n: 5 },
      retry: { policy: 'none', maxAttempts: 1 }
    })
    const pushes = (): number[] =>
      attacker.inbound.filter((request) => request.method === 'tools/call').map((request) => request.at)
    // Four pushes: the first, then one after each pause. Every pause doubles (1, 2, 4 s): a flat one-second pause
    // (each pause's end runs the scheduler) would push the backlog, arguments included, every second for good.
    const at = await waitFor(() => (pushes().length >= 4 ? pushes() : undefined), {
      timeoutMs: 30_000,
      message: 'four pushes to the refusing worker'
    })
    const gaps = [at[1]! - at[0]!, at[2]! - at[1]!, at[3]! - at[2]!]
    // Lower bounds only (a loaded machine makes gaps longer, never shorter than the pause).
    expect
      .soft(gaps[1], `gaps between pushes ${gaps.join(', ')} ms`)
      .toBeGreaterThanOrEqual(2 * REFUSAL_COOLDOWN_MS * 0.95)
    expect
      .soft(gaps[2], `gaps between pushes ${gaps.join(', ')} ms`)
      .toBeGreaterThanOrEqual(4 * REFUSAL_COOLDOWN_MS * 0.95)
    // Refused pushes spend no attempt: the task waits, queued.
    expect((await waitTask(owner.node, task.id, () => true)).state).toBe('queued')
    // Control: the same worker, running the task, gets it at its next push and the task succeeds.
    refusing = false
    const done = await waitTask(owner.node, task.id, (t) => t.state === 'succeeded', 30_000, 'task run by the worker')
    expect(done.worker).toBe(attacker.peerId)
    expect(done.attempts).toBe(1)
  })
})
