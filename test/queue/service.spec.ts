import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server'
import { MemoryDatastore } from 'datastore-core'
import { afterEach, describe, expect, it } from 'vitest'
import type { Client } from '@modelcontextprotocol/client'
import type { CatalogPeer } from '../../src/mesh/catalog.js'
import type { PeerMethod } from '../../src/mcp/front.js'
import type { ViewCallContext } from '../../src/mcp/view.js'
import { ERROR_CODE_BUSY, ERROR_CODE_DENIED } from '../../src/mesh/constants.js'
import {
  METHOD_ABORT,
  METHOD_ATTACH,
  METHOD_CLAIM,
  METHOD_COMPLETE,
  METHOD_HEARTBEAT
} from '../../src/queue/constants.js'
import {
  type QueueComponents,
  type QueuePubSub,
  TASK_META_KEY,
  type TaskQueueService,
  taskQueue,
  taskTopic
} from '../../src/queue/index.js'
import { RuntimeRouter } from '../../src/router/router.js'
import { ToolRegistry } from '../../src/tools/registry.js'
import { TrustGate } from '../../src/trust/index.js'
import { rejectionOf, testTool, waitFor } from '../helpers/index.js'
import { callPeerMethod, catalogPeer } from './fixtures.js'

const config: {
  dispatch: 'auto' | 'push' | 'pull'
  leaseMs: number
  resultTtlMs: number
  worker: { maxConcurrency: number }
} = { dispatch: 'auto', leaseMs: 3_000, resultTtlMs: 60_000, worker: { maxConcurrency: 4 } }
const running: TaskQueueService[] = []

async function queueWithStubs(
  datastore = new MemoryDatastore(),
  options: { config?: Partial<typeof config>; mesh?: Partial<QueueComponents['mesh']> } = {}
) {
  const registry = new ToolRegistry()
  registry.register(testTool('shared', { meta: { export: true } }))
  registry.register(testTool('private'))
  const methods = new Map<string, PeerMethod>()
  const topics = new Set<string>()
  let catalogListeners = 0
  const pubsub = {
    topicValidators: new Map(),
    subscribe: (topic: string) => topics.add(topic),
    unsubscribe: (topic: string) => topics.delete(topic),
    publish: async () => ({ recipients: [] }),
    addEventListener: () => {},
    removeEventListener: () => {}
  } as unknown as QueuePubSub
  const components: QueueComponents = {
    peerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')),
    datastore,
    pubsub,
    workerHost: {
      registry,
      router: new RuntimeRouter(registry),
      isExported: (name) => registry.get(name)?.meta.export === true
    },
    peerMethods: { add: (method) => methods.set(method.method, method), remove: (name) => methods.delete(name) },
    mesh: {
      peers: () => [],
      onCatalogChange: () => {
        catalogListeners++
        return () => catalogListeners--
      },
      client: async () => {
        throw new Error('no peers in this test')
      },
      drop: async () => {},
      ...options.mesh
    },
    gate: new TrustGate({ export: { tools: [] }, trust: { tools: {} } }, { tools: registry })
  }
  const queue = taskQueue({ config: { ...config, ...options.config }, meshName: 'test' })(components)
  running.push(queue)
  return { queue, registry, methods, topics, catalogListeners: () => catalogListeners }
}

/** A worker peer in the catalog offering `remote-only`, a tool this node does not have (so its tasks are pushed). */
function offering(peerId: string): CatalogPeer {
  return catalogPeer(peerId, { tools: ['remote-only'], maxConcurrency: 8 })
}

function callContext(meta?: Record<string, unknown>): ViewCallContext {
  return {
    signal: new AbortController().signal,
    reportProgress: () => {},
    caller: { kind: 'peer', peerId: 'owner' },
    meta
  }
}

describe('TaskQueueService with stub components', () => {
  afterEach(async () => {
    for (const queue of running.splice(0)) await queue.stop()
  })

  it('starts and stops once each: peer methods, task topic and catalog listener come and go', async () => {
    const { queue, methods, topics, catalogListeners } = await queueWithStubs()
    expect(queue.name).toBe('queue')
    await queue.start()
    await queue.start()
    expect([...methods.keys()].sort()).toEqual(
      [METHOD_ABORT, METHOD_ATTACH, METHOD_CLAIM, METHOD_COMPLETE, METHOD_HEARTBEAT].sort()
    )
    expect([...topics]).toEqual([taskTopic('test')])
    expect(catalogListeners()).toBe(1)
    expect((await queue.health()).ok).toBe(true)
    await queue.stop()
    await queue.stop()
    expect(methods.size).toBe(0)
    expect(topics.size).toBe(0)
    expect(catalogListeners()).toBe(0)
    expect((await queue.health()).ok).toBe(false)
  })

  it('pushes again once a worker that refused a push as busy may have room, with nothing else running its scheduler', async () => {
    // Push only: no announcement, no catalog change, no other submission. Before, a busy refusal cooled the
    // worker down and nothing ran the scheduler when the cooldown ended: the task stayed queued for good.
    const worker = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const calls: string[] = []
    const client = {
      callTool: async (params: { name: string }) => {
        calls.push(params.name)
        if (calls.length === 1) throw new ProtocolError(ERROR_CODE_BUSY, "busy: the worker's slots for peers are full")
        return { content: [{ type: 'text', text: 'ran' }] }
      }
    }
    const peer = offering(worker)
    const { queue } = await queueWithStubs(undefined, {
      config: { dispatch: 'push' },
      mesh: { peers: () => [peer], client: async () => client as unknown as Client }
    })
    await queue.start()
    const { task } = await queue.submit({ tool: 'remote-only', args: {} })
    const done = await queue.waitFor(task.id, { timeoutMs: 10_000 })
    expect(calls).toEqual(['remote-only', 'remote-only'])
    expect(done).toMatchObject({ state: 'succeeded', attempts: 1 })
    expect(done.history.map((attempt) => attempt.outcome)).toEqual(['rejected', 'succeeded'])
  })

  it('grants a claim from a worker that just refused a push as busy, and cools down one that denied it', async () => {
    const busy = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const denying = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const refusing = (code: number, message: string) => ({
      callTool: async () => {
        throw new ProtocolError(code, message)
      }
    })
    let peers = [offering(busy)]
    const { queue, methods } = await queueWithStubs(undefined, {
      config: { dispatch: 'auto' },
      mesh: {
        peers: () => peers,
        client: async (peerId) =>
          (peerId.toString() === busy
            ? refusing(ERROR_CODE_BUSY, "busy: the worker's slots for peers are full")
            : refusing(ERROR_CODE_DENIED, 'denied: not in trust.acceptFrom')) as unknown as Client
      }
    })
    await queue.start()
    const claim = methods.get(METHOD_CLAIM)!
    const refusedBy = async (taskId: string, peer: string): Promise<void> => {
      await waitFor(() => queue.get(taskId)?.history.some((a) => a.outcome === 'rejected' && a.worker === peer), {
        message: `a rejected push of ${taskId} to ${peer}`
      })
    }
    const first = (await queue.submit({ tool: 'remote-only', args: {} })).task
    await refusedBy(first.id, busy)
    // Full, not faulty: the worker claims once it has room, and gets the task.
    expect(await callPeerMethod(claim, busy, { taskId: first.id })).toMatchObject({ granted: true })
    peers = [offering(denying)]
    const second = (await queue.submit({ tool: 'remote-only', args: {} })).task
    await refusedBy(second.id, denying)
    await expect(rejectionOf(callPeerMethod(claim, denying, { taskId: second.id }))).resolves.toMatchObject({
      code: ERROR_CODE_BUSY
    })
  })

  it('lists its tools without registering them; reports worker info only while running', async () => {
    const { queue, registry } = await queueWithStubs()
    expect(queue.workerInfo()).toBeUndefined()
    await queue.start()
    const names = queue.tools().map((tool) => tool.name)
    expect(names).toContain('task_submit')
    expect(names).toHaveLength(14)
    expect(names.some((name) => registry.has(name))).toBe(false)
    expect(queue.workerInfo()).toEqual({ accepting: true, maxConcurrency: 4, running: 0, tags: [] })
  })

  it('runs a submitted task on its own worker and keeps it across a restart', async () => {
    const datastore = new MemoryDatastore()
    const first = await queueWithStubs(datastore)
    await first.queue.start()
    const { task } = await first.queue.submit({ tool: 'shared', args: {}, idempotencyKey: 'k' })
    const done = await first.queue.waitFor(task.id, { timeoutMs: 10_000 })
    expect(done).toMatchObject({ state: 'succeeded', attempts: 1, worker: expect.any(String) })
    await first.queue.stop()

    const second = await queueWithStubs(datastore)
    await second.queue.start()
    expect(second.queue.get(task.id)?.state).toBe('succeeded')
    expect(await second.queue.submit({ tool: 'shared', args: {}, idempotencyKey: 'k' })).toMatchObject({
      created: false,
      task: { id: task.id }
    })
  })

  it('takes pushed tasks through inboundCall only when the call carries a valid task lease', async () => {
    const { queue } = await queueWithStubs()
    const lease = { id: 'pushed-1', token: 'tok', timeoutMs: 5_000, leaseMs: 3_000 }
    expect(
      queue.inboundCall({ peer: 'owner', tool: 'shared', args: {}, ctx: callContext({ [TASK_META_KEY]: lease }) })
    ).toBeUndefined()
    await queue.start()
    expect(queue.inboundCall({ peer: 'owner', tool: 'shared', args: {}, ctx: callContext() })).toBeUndefined()
    expect(
      queue.inboundCall({ peer: 'owner', tool: 'shared', args: {}, ctx: callContext({ other: 1 }) })
    ).toBeUndefined()

    const invalid = await rejectionOf<ProtocolError>(
      queue.inboundCall({
        peer: 'owner',
        tool: 'shared',
        args: {},
        ctx: callContext({ [TASK_META_KEY]: { id: 'x' } })
      })!
    )
    expect(invalid).toBeInstanceOf(ProtocolError)
    expect(invalid.code).toBe(ProtocolErrorCode.InvalidParams)

    const result = await queue.inboundCall({
      peer: 'owner',
      tool: 'shared',
      args: {},
      ctx: callContext({ [TASK_META_KEY]: lease })
    })!
    expect(result.isError).not.toBe(true)
    expect(queue.worker.status().done).toBe(1)

    const refused = await rejectionOf<ProtocolError>(
      queue.inboundCall({ peer: 'owner', tool: 'private', args: {}, ctx: callContext({ [TASK_META_KEY]: lease }) })!
    )
    expect(refused.code).toBe(ERROR_CODE_BUSY)
  })
})
