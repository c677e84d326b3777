import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Client } from '@modelcontextprotocol/client'
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server'
import { MemoryDatastore } from 'datastore-core'
import { describe, expect, it, vi } from 'vitest'
import type { MeshPort } from '../../../src/queue/components.js'
import type { CatalogPeer } from '../../../src/mesh/index.js'
import { METHOD_ATTACH } from '../../../src/queue/constants.js'
import { TaskJournal } from '../../../src/queue/owner/journal.js'
import { recoverTasks } from '../../../src/queue/owner/recovery.js'
import type { StoredTask } from '../../../src/queue/owner/types.js'
import { ownerParts, SELF, storedTask } from '../fixtures.js'

function running(id: string, seq: number, worker: string, dispatch: 'local' | 'push' | 'pull'): StoredTask {
  return storedTask(id, {
    seq,
    state: 'running',
    attempts: 1,
    worker: worker === 'local' ? SELF : worker,
    lease: { worker, token: `token-${id}`, dispatch },
    history: [{ attempt: 1, worker: worker === 'local' ? SELF : worker, dispatch, startedAt: 1 }]
  })
}

/** A datastore holding what a previous run of the owner journaled. */
async function journaled(tasks: StoredTask[]): Promise<MemoryDatastore> {
  const datastore = new MemoryDatastore()
  const journal = new TaskJournal(datastore)
  for (const task of tasks) journal.putLater(task)
  await journal.flush()
  return datastore
}

type RecoveryMesh = Pick<MeshPort, 'client' | 'peers' | 'onCatalogChange'>

/** A catalog listing `peers` (the workers a restarted owner waits for before asking them). */
function catalogOf(peers: string[]): Pick<MeshPort, 'peers' | 'onCatalogChange'> {
  return { peers: () => peers.map((peerId) => ({ peerId }) as CatalogPeer), onCatalogChange: () => () => {} }
}

/** A mesh whose every client answers the attach method with `answer`; `workers` are in its catalog. */
function meshAnswering(
  answer: () => Promise<unknown>,
  workers: string[] = []
): { mesh: RecoveryMesh; requests: unknown[] } {
  const requests: unknown[] = []
  const client = {
    request: async (request: unknown) => {
      requests.push(request)
      return answer()
    }
  } as unknown as Client
  return { mesh: { client: async () => client, ...catalogOf(workers) }, requests }
}

describe('recovery from the journal', () => {
  it('puts queued tasks back in line and requeues local runs with the attempt counted', async () => {
    const datastore = await journaled([
      storedTask('q2', { seq: 7 }),
      storedTask('q1', { seq: 3 }),
      running('local', 5, 'local', 'local'),
      storedTask('done', { seq: 1, state: 'succeeded' })
    ])
    const parts = await ownerParts({ datastore })
    const { mesh } = meshAnswering(async () => ({ state: 'unknown' }))
    const report = await recoverTasks({
      ...parts,
      enqueue: (task) => parts.scheduler.enqueue(task),
      mesh,
      leaseMs: 1_000
    })
    expect(report).toEqual({ recovered: 4, requeued: 1, releasing: 0 })
    expect(parts.store.seq).toBe(7)
    expect(parts.scheduler.open(10).map((task) => task.id)).toEqual(['q1', 'local', 'q2'])
    const local = parts.store.get('local')!
    expect(local).toMatchObject({ state: 'queued', attempts: 1 })
    expect(local.lease).toBeUndefined()
    expect(local.history.at(-1)).toMatchObject({ outcome: 'lease-lost' })
    expect(parts.store.get('done')?.state).toBe('succeeded')
    await parts.store.journal.flush()
    const stored = (await parts.store.journal.loadAll()).find((task) => task.id === 'local')
    expect(stored?.state).toBe('queued')
  })

  it('keeps the lease of a pulled task, which expires like any other without heartbeats', async () => {
    const datastore = await journaled([running('pulled', 1, 'peer-a', 'pull')])
    const parts = await ownerParts({ datastore })
    const { mesh, requests } = meshAnswering(async () => ({ state: 'unknown' }))
    expect(
      await recoverTasks({ ...parts, enqueue: (task) => parts.scheduler.enqueue(task), mesh, leaseMs: 1_000 })
    ).toEqual({ recovered: 1, requeued: 0, releasing: 1 })
    const lease = parts.leases.get('pulled')!
    expect(lease).toMatchObject({ worker: 'peer-a', token: 'token-pulled', dispatch: 'pull' })
    expect(parts.leases.outstanding('peer-a')).toBe(1)
    expect(requests).toEqual([])
    parts.leases.sweep(lease.expiresAt + 1)
    expect(parts.store.get('pulled')).toMatchObject({ state: 'queued', attempts: 1, leaseLosses: 1 })
  })

  it('re-leases a pushed task from its worker: its result if finished, a requeue if it is unknown', async () => {
    const worker = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const datastore = await journaled([running('done', 1, worker, 'push'), running('gone', 2, worker, 'push')])
    const parts = await ownerParts({ datastore })
    const result = { content: [{ type: 'text', text: 'ran once' }] }
    const { mesh, requests } = meshAnswering(async () => {
      const { params } = requests.at(-1) as { params: { taskId: string } }
      return params.taskId === 'done' ? { state: 'finished', result } : { state: 'unknown' }
    }, [worker])
    await recoverTasks({ ...parts, enqueue: (task) => parts.scheduler.enqueue(task), mesh, leaseMs: 1_000 })
    await vi.waitFor(() => expect(parts.leases.size).toBe(0))
    expect(requests).toEqual([
      expect.objectContaining({ method: METHOD_ATTACH, params: { taskId: 'done', token: 'token-done' } }),
      expect.objectContaining({ method: METHOD_ATTACH, params: { taskId: 'gone', token: 'token-gone' } })
    ])
    expect(parts.store.get('done')).toMatchObject({ state: 'succeeded', attempts: 1, result })
    expect(parts.store.get('gone')).toMatchObject({ state: 'queued', attempts: 1 })
    expect(parts.store.get('gone')?.history.at(-1)).toMatchObject({
      outcome: 'lease-lost',
      error: `worker ${worker} no longer knows the task`
    })
  })

  it('requeues a pushed task when its worker cannot be reached', async () => {
    const worker = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const parts = await ownerParts({ datastore: await journaled([running('t', 1, worker, 'push')]) })
    const { mesh } = meshAnswering(async () => {
      throw new Error('connection refused')
    }, [worker])
    await recoverTasks({ ...parts, enqueue: (task) => parts.scheduler.enqueue(task), mesh, leaseMs: 1_000 })
    // Asked again with backoff until the lease's deadline, then requeued.
    await vi.waitFor(() => expect(parts.store.get('t')?.state).toBe('queued'), { timeout: 5_000 })
    expect(parts.store.get('t')?.reason).toBe(`re-lease from ${worker} failed: connection refused`)
  })

  it('asks again when the worker is not reachable yet after the restart, and re-leases the task', async () => {
    const worker = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const parts = await ownerParts({ datastore: await journaled([running('t', 1, worker, 'push')]) })
    const result = { content: [{ type: 'text', text: 'ran once' }] }
    let dials = 0
    const client = { request: async () => ({ state: 'finished', result }) } as unknown as Client
    const mesh: RecoveryMesh = {
      client: async () => {
        // The first two dials fail: the connection drops while it is re-made.
        if (++dials <= 2) throw new Error('connection reset')
        return client
      },
      ...catalogOf([worker])
    }
    await recoverTasks({ ...parts, enqueue: (task) => parts.scheduler.enqueue(task), mesh, leaseMs: 10_000 })
    await vi.waitFor(() => expect(parts.store.get('t')?.state).toBe('succeeded'), { timeout: 5_000 })
    expect(dials).toBe(3)
    expect(parts.store.get('t')).toMatchObject({ attempts: 1, result })
  })

  it('waits for the worker to be in the catalog before asking it (no dial without a route)', async () => {
    const worker = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const parts = await ownerParts({ datastore: await journaled([running('t', 1, worker, 'push')]) })
    const result = { content: [{ type: 'text', text: 'ran once' }] }
    const listed: string[] = []
    const listeners = new Set<() => void>()
    let dials = 0
    const client = { request: async () => ({ state: 'finished', result }) } as unknown as Client
    const mesh: RecoveryMesh = {
      client: async () => {
        dials++
        return client
      },
      peers: () => listed.map((peerId) => ({ peerId }) as CatalogPeer),
      onCatalogChange: (listener) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      }
    }
    await recoverTasks({ ...parts, enqueue: (task) => parts.scheduler.enqueue(task), mesh, leaseMs: 10_000 })
    await Promise.resolve()
    expect(dials).toBe(0)
    expect(listeners.size).toBe(1)
    // The bootstrap dial connects and the worker's record arrives.
    listed.push(worker)
    for (const listener of listeners) listener()
    await vi.waitFor(() => expect(parts.store.get('t')?.state).toBe('succeeded'))
    expect(dials).toBe(1)
    expect(listeners.size).toBe(0)
  })

  it('takes a protocol error from the worker as its answer (no second ask)', async () => {
    const worker = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const parts = await ownerParts({ datastore: await journaled([running('t', 1, worker, 'push')]) })
    const { mesh, requests } = meshAnswering(async () => {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'unknown token')
    }, [worker])
    await recoverTasks({ ...parts, enqueue: (task) => parts.scheduler.enqueue(task), mesh, leaseMs: 10_000 })
    await vi.waitFor(() => expect(parts.store.get('t')?.state).toBe('queued'))
    expect(requests).toHaveLength(1)
  })
})
