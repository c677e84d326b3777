import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it, vi } from 'vitest'
import { MAX_CLAIMS_PER_OWNER, METHOD_CLAIM, METHOD_COMPLETE } from '../../../src/queue/constants.js'
import type { Announcement } from '../../../src/queue/protocol.js'
import { TaskClaims } from '../../../src/queue/worker/claims.js'
import { TaskWorker } from '../../../src/queue/worker/task-worker.js'
import { RuntimeRouter } from '../../../src/router/router.js'
import { ToolRegistry } from '../../../src/tools/registry.js'
import { testTool } from '../../helpers/index.js'
import { testGate } from '../fixtures.js'

type Request = { method: string; params: Record<string, unknown> }
type Answer = (request: Request) => Promise<unknown>

/** Stub owner: records requests, answers claims with `onClaim`, acknowledges completions. */
async function setup(
  onClaim: Answer,
  options: { trust?: Parameters<typeof testGate>[0]; maxConcurrency?: number } = {}
) {
  const owner = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const registry = new ToolRegistry()
  const ran: string[] = []
  for (const name of ['echo', 'sha256', 'queue_pause']) {
    registry.register(
      testTool(name, {
        meta: { export: name !== 'queue_pause' },
        handler: async () => {
          ran.push(name)
          return { ran: name }
        }
      })
    )
  }
  const gate = testGate(options.trust, ['echo', 'sha256'])
  const host = { registry, router: new RuntimeRouter(registry), isExported: (name: string) => gate.isExported(name) }
  const worker = new TaskWorker(host, { maxConcurrency: options.maxConcurrency ?? 32 })
  const requests: Request[] = []
  const client = {
    request: async (request: Request): Promise<unknown> => {
      requests.push(request)
      if (request.method === METHOD_CLAIM) return onClaim(request)
      if (request.method === METHOD_COMPLETE) return { accepted: true }
      return { ok: true, cancel: false }
    }
  }
  const claims = new TaskClaims({
    worker,
    mesh: { client: async () => client as never, drop: async () => {} },
    gate,
    self: 'self-peer',
    localTags: () => []
  })
  const announce = (tasks: Array<{ id: string; tool: string }>): void =>
    claims.onAnnouncement({
      v: 1,
      mesh: 'test',
      owner,
      ts: Date.now(),
      tasks: tasks.map((task) => ({ ...task, priority: 5, tags: [] }))
    } satisfies Announcement)
  const of = (method: string): Request[] => requests.filter((request) => request.method === method)
  return { owner, gate, worker, ran, requests, announce, of }
}

function grant(id: string, tool: string): unknown {
  return { granted: true, task: { id, token: `tok-${id}`, tool, args: {}, timeoutMs: 5_000, leaseMs: 3_000 } }
}

const never = (): Promise<never> => new Promise<never>(() => {})

describe('TaskClaims', () => {
  it('runs a granted task of the claimed tool, including another task id the owner substitutes', async () => {
    const { announce, of, ran } = await setup(async () => grant('better', 'echo'))
    announce([{ id: 'claimed', tool: 'echo' }])
    await vi.waitFor(() => expect(of(METHOD_COMPLETE)).toHaveLength(1))
    expect(ran).toEqual(['echo'])
    expect(of(METHOD_COMPLETE)[0]!.params).toMatchObject({ taskId: 'better', token: 'tok-better' })
    expect(of(METHOD_COMPLETE)[0]!.params.notExecuted).toBeUndefined()
  })

  it('refuses a grant naming another tool: nothing runs, the owner hears "not executed", the gate counts it', async () => {
    const { announce, of, ran, gate } = await setup(async () => grant('claimed', 'queue_pause'))
    announce([{ id: 'claimed', tool: 'echo' }])
    await vi.waitFor(() => expect(of(METHOD_COMPLETE)).toHaveLength(1))
    expect(ran).toEqual([])
    expect(String(of(METHOD_COMPLETE)[0]!.params.notExecuted)).toContain(
      'granted tool "queue_pause" for a claim of "echo"'
    )
    expect(gate.stats().inbound['task-claim'].denied).toBe(1)
  })

  it('never claims a tool the gate keeps from this owner (trust.tools), and counts the refusal', async () => {
    const { announce, requests, gate } = await setup(async () => grant('t', 'sha256'), {
      trust: { tools: { sha256: ['someone-else'] } }
    })
    announce([{ id: 't', tool: 'sha256' }])
    await new Promise((resolve) => setImmediate(resolve))
    expect(requests).toEqual([])
    expect(gate.stats().inbound['task-claim'].denied).toBe(1)
  })

  it('keeps at most MAX_CLAIMS_PER_OWNER unanswered claims per owner, and tries untried tasks first', async () => {
    const { announce, of, worker } = await setup(async () => never())
    const tasks = Array.from({ length: 3 * MAX_CLAIMS_PER_OWNER }, (_, i) => ({ id: `t${i}`, tool: 'echo' }))
    announce(tasks)
    announce(tasks)
    await new Promise((resolve) => setImmediate(resolve))
    expect(of(METHOD_CLAIM)).toHaveLength(MAX_CLAIMS_PER_OWNER)
    // The node's own tasks keep their slots: claims only reserve peers' slots, at most the quota.
    expect(worker.freeSlots).toBe(32 - MAX_CLAIMS_PER_OWNER)
  })

  it('claims tasks it has not tried before ahead of those whose claims just failed', async () => {
    let refused = 0
    const { announce, of } = await setup(async () => {
      refused++
      return { granted: false, reason: 'task is running' }
    })
    const tasks = Array.from({ length: 2 * MAX_CLAIMS_PER_OWNER }, (_, i) => ({ id: `t${i}`, tool: 'echo' }))
    announce(tasks)
    await vi.waitFor(() => expect(refused).toBe(MAX_CLAIMS_PER_OWNER))
    await new Promise((resolve) => setImmediate(resolve))
    announce(tasks)
    await vi.waitFor(() => expect(refused).toBe(2 * MAX_CLAIMS_PER_OWNER))
    const claimed = of(METHOD_CLAIM).map((request) => request.params.taskId)
    expect(new Set(claimed).size).toBe(2 * MAX_CLAIMS_PER_OWNER)
  })
})
