import type { ProtocolError } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { ERROR_CODE_BUSY, ERROR_CODE_DENIED } from '../../../../src/mesh/constants.js'
import { claimHandler } from '../../../../src/queue/rpc/handlers/claim.js'
import { queueRpcHost } from '../../../../src/queue/rpc/index.js'
import { rejectionOf } from '../../../helpers/index.js'
import { callPeerMethod, catalogPeer, gatedWorker, ownerParts, queued, storedTask, testGate } from '../../fixtures.js'

async function setup(options: { paused?: boolean } = {}) {
  const parts = await ownerParts()
  parts.store.paused = options.paused === true
  const host = queueRpcHost({
    ...parts,
    worker: gatedWorker().worker,
    leaseMs: 1_000,
    peers: () => [catalogPeer('peer-a'), catalogPeer('peer-b')],
    gate: testGate()
  })
  return { ...parts, claim: claimHandler(host) }
}

describe('claim handler', () => {
  it('grants a queued, ready task with a fresh lease held by the claiming peer', async () => {
    const { claim, store, leases, scheduler } = await setup()
    queued({ store, scheduler }, storedTask('t1'))
    const answer = await callPeerMethod(claim, 'peer-a', { taskId: 't1' })
    expect(answer).toMatchObject({ granted: true, task: { id: 't1', tool: 'echo', leaseMs: 1_000 } })
    const token = (answer as { task: { token: string } }).task.token
    expect(leases.held('t1', token, 'peer-a')).toBeDefined()
    expect(store.get('t1')).toMatchObject({ state: 'running', worker: 'peer-a', attempts: 1 })
    expect(scheduler.open(10)).toEqual([])
    // A second claim of the same task is refused: it is running now.
    expect(await callPeerMethod(claim, 'peer-b', { taskId: 't1' })).toEqual({
      granted: false,
      reason: 'task is running'
    })
  })

  it('refuses unknown, delayed and finished tasks, and any task while paused', async () => {
    const { claim, store, scheduler } = await setup()
    expect(await callPeerMethod(claim, 'peer-a', { taskId: 'nope' })).toEqual({
      granted: false,
      reason: 'unknown task'
    })
    queued({ store, scheduler }, storedTask('later', { runAt: Date.now() + 60_000 }))
    expect(await callPeerMethod(claim, 'peer-a', { taskId: 'later' })).toMatchObject({ granted: false })
    store.add(storedTask('done', { state: 'succeeded' }))
    expect(await callPeerMethod(claim, 'peer-a', { taskId: 'done' })).toEqual({
      granted: false,
      reason: 'task is succeeded'
    })

    const paused = await setup({ paused: true })
    queued(paused, storedTask('t1'))
    expect(await callPeerMethod(paused.claim, 'peer-a', { taskId: 't1' })).toMatchObject({ granted: false })
    expect(paused.store.get('t1')?.state).toBe('queued')
  })

  it('refuses a peer the placement excludes', async () => {
    const { claim, store, scheduler } = await setup()
    queued({ store, scheduler }, storedTask('local', { placement: { local: true } }))
    queued({ store, scheduler }, storedTask('pinned', { seq: 2, placement: { peer: 'peer-b' } }))
    const refusal = { granted: false, reason: 'placement does not allow this peer' }
    expect(await callPeerMethod(claim, 'peer-a', { taskId: 'local' })).toEqual(refusal)
    expect(await callPeerMethod(claim, 'peer-a', { taskId: 'pinned' })).toEqual(refusal)
    expect(await callPeerMethod(claim, 'peer-b', { taskId: 'pinned' })).toMatchObject({ granted: true })
  })

  it('grants a better-ranked queued task of the same tool instead of the claimed one', async () => {
    const { claim, store, scheduler } = await setup()
    queued({ store, scheduler }, storedTask('low', { seq: 1, priority: 2 }))
    queued({ store, scheduler }, storedTask('high', { seq: 2, priority: 9 }))
    queued({ store, scheduler }, storedTask('other-tool', { seq: 3, priority: 10, tool: 'sha256' }))
    queued({ store, scheduler }, storedTask('tagged', { seq: 4, priority: 10, placement: { tags: ['gpu'] } }))
    const answer = await callPeerMethod(claim, 'peer-a', { taskId: 'low' })
    expect(answer).toMatchObject({ granted: true, task: { id: 'high' } })
    expect(store.get('low')?.state).toBe('queued')
    expect(store.get('high')?.state).toBe('running')
  })

  it('rejects malformed params before the handler runs', async () => {
    const { claim } = await setup()
    await expect(callPeerMethod(claim, 'peer-a', { taskId: '' })).rejects.toThrow()
    await expect(callPeerMethod(claim, 'peer-a', { taskId: 't1', extra: 1 })).rejects.toThrow()
  })
})

describe('claim handler: who may claim', () => {
  async function gated(
    options: { trust?: Parameters<typeof testGate>[0]; peers?: ReturnType<typeof catalogPeer>[] } = {}
  ) {
    const parts = await ownerParts()
    const gate = testGate(options.trust)
    const host = queueRpcHost({
      ...parts,
      worker: gatedWorker().worker,
      leaseMs: 1_000,
      peers: () => options.peers ?? [catalogPeer('peer-a')],
      gate
    })
    return { ...parts, gate, claim: claimHandler(host) }
  }

  async function refusal(promise: Promise<unknown>): Promise<ProtocolError> {
    return rejectionOf<ProtocolError>(promise)
  }

  it('denies a peer the gate does not admit, and one outside trust.sendTo, counting both', async () => {
    const admitted = await gated({ trust: { allowPeers: ['peer-b'] } })
    queued(admitted, storedTask('t1'))
    const denied = await refusal(callPeerMethod(admitted.claim, 'peer-a', { taskId: 't1' }))
    expect(denied.code).toBe(ERROR_CODE_DENIED)
    expect(denied.message).toContain('trust.allowPeers')
    expect(admitted.gate.stats().inbound['task-rpc'].denied).toBe(1)

    const sendTo = await gated({ trust: { sendTo: ['peer-b'] } })
    queued(sendTo, storedTask('t1'))
    const unsent = await refusal(callPeerMethod(sendTo.claim, 'peer-a', { taskId: 't1' }))
    expect(unsent.code).toBe(ERROR_CODE_DENIED)
    expect(unsent.message).toContain('trust.sendTo')
    expect(sendTo.gate.stats()).toMatchObject({ inbound: { 'task-rpc': { denied: 1 } }, outbound: { task: 1 } })
    expect(sendTo.store.get('t1')?.state).toBe('queued')
  })

  it('denies a peer the catalog does not list as offering the tool (theft), leaving the task queued', async () => {
    const { claim, store, scheduler, gate } = await gated({ peers: [catalogPeer('peer-a', { tools: ['sha256'] })] })
    queued({ store, scheduler }, storedTask('t1'))
    const unknownPeer = await refusal(callPeerMethod(claim, 'peer-x', { taskId: 't1' }))
    expect(unknownPeer.code).toBe(ERROR_CODE_DENIED)
    const otherTool = await refusal(callPeerMethod(claim, 'peer-a', { taskId: 't1' }))
    expect(otherTool.message).toContain('does not list peer-a as offering "echo"')
    expect(store.get('t1')).toMatchObject({ state: 'queued', attempts: 0 })
    expect(gate.stats().inbound['task-rpc'].denied).toBe(2)
  })

  it('requires the task tags from the tool advert or the worker registration', async () => {
    const { claim, store, scheduler } = await gated({
      peers: [
        catalogPeer('plain'),
        catalogPeer('tool-tagged', { toolTags: ['gpu'] }),
        catalogPeer('worker-tagged', { workerTags: ['gpu'] })
      ]
    })
    queued({ store, scheduler }, storedTask('g1', { placement: { tags: ['gpu'] } }))
    queued({ store, scheduler }, storedTask('g2', { seq: 2, placement: { tags: ['gpu'] } }))
    const untagged = await refusal(callPeerMethod(claim, 'plain', { taskId: 'g1' }))
    expect(untagged.code).toBe(ERROR_CODE_DENIED)
    expect(untagged.message).toContain('lacks the tags the task requires: gpu')
    expect(await callPeerMethod(claim, 'tool-tagged', { taskId: 'g1' })).toMatchObject({ granted: true })
    expect(await callPeerMethod(claim, 'worker-tagged', { taskId: 'g2' })).toMatchObject({ granted: true })
  })

  it('answers busy to a peer cooling down after a hand-back, and to one holding all the slots it offers peers', async () => {
    const { claim, store, scheduler, leases, gate } = await gated({
      peers: [catalogPeer('peer-a', { maxConcurrency: 2 }), catalogPeer('peer-b', { maxConcurrency: 1 })]
    })
    for (const [i, id] of ['t1', 't2', 't3'].entries()) queued({ store, scheduler }, storedTask(id, { seq: i + 1 }))
    const first = (await callPeerMethod(claim, 'peer-a', { taskId: 't1' })) as { task: { id: string; token: string } }
    leases.notExecuted(first.task.id, first.task.token, 'busy: full', 'peer-a')
    const cooling = await refusal(callPeerMethod(claim, 'peer-a', { taskId: 't1' }))
    expect(cooling.code).toBe(ERROR_CODE_BUSY)

    expect(await callPeerMethod(claim, 'peer-b', { taskId: 't2' })).toMatchObject({ granted: true })
    const full = await refusal(callPeerMethod(claim, 'peer-b', { taskId: 't3' }))
    expect(full.code).toBe(ERROR_CODE_BUSY)
    expect(gate.stats().inbound['task-rpc'].busy).toBe(2)
    expect(store.get('t3')?.state).toBe('queued')
  })
})
