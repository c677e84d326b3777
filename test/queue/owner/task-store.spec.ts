import { describe, expect, it } from 'vitest'
import { TaskJournal } from '../../../src/queue/owner/journal.js'
import { recoverTasks } from '../../../src/queue/owner/recovery.js'
import type { TaskStore } from '../../../src/queue/owner/task-store.js'
import type { StoredTask } from '../../../src/queue/owner/types.js'
import { fullGc } from '../../helpers/gc.js'
import { ownerParts, storedTask } from '../fixtures.js'

/** Adds `count` queued tasks (journaled) named `${prefix}0`…; returns them in order. */
async function addTasks(store: TaskStore, prefix: string, count: number): Promise<StoredTask[]> {
  const tasks: StoredTask[] = []
  for (let i = 0; i < count; i++) {
    const task = storedTask(`${prefix}${i}`, { seq: store.seq + 1 })
    store.add(task)
    await store.journal.put(task)
    tasks.push(task)
  }
  return tasks
}

/** The ids the journal holds once every write in flight has landed. */
async function journaledIds(store: TaskStore): Promise<string[]> {
  await store.journal.flush()
  return (await store.journal.loadAll()).map((task) => task.id).sort()
}

describe('TaskStore: finished tasks are bounded by maxFinished', () => {
  it('keeps every finished task while under the bound (control)', async () => {
    const { store } = await ownerParts({ maxFinished: 3 })
    const tasks = await addTasks(store, 't', 3)
    for (const task of tasks) store.finish(task, 'succeeded', {})
    expect(store.finishedCount).toBe(3)
    expect([...store.tasks.keys()].sort()).toEqual(['t0', 't1', 't2'])
    expect(await journaledIds(store)).toEqual(['t0', 't1', 't2'])
  })

  it('deletes the oldest finished tasks from memory and the journal, never a live one', async () => {
    const { store } = await ownerParts({ maxFinished: 3 })
    const live = await addTasks(store, 'live', 2)
    live[1]!.state = 'running'
    const tasks = await addTasks(store, 't', 6)
    for (const task of tasks) store.finish(task, task.id === 't2' ? 'failed' : 'succeeded', {})
    expect(store.finishedCount).toBe(3)
    expect([...store.tasks.keys()].sort()).toEqual(['live0', 'live1', 't3', 't4', 't5'])
    expect(await journaledIds(store)).toEqual(['live0', 'live1', 't3', 't4', 't5'])
  })

  it('a retried task stops counting as finished, and counts as newest when it finishes again', async () => {
    const { store } = await ownerParts({ maxFinished: 2 })
    const [a, b, c] = await addTasks(store, 't', 3)
    store.finish(a!, 'failed', {})
    store.finish(b!, 'succeeded', {})
    // A retry (api.retry) reopens `a` before putting it back in line.
    store.reopen(a!)
    a!.state = 'queued'
    expect(store.finishedCount).toBe(1)
    store.finish(c!, 'succeeded', {})
    expect([...store.tasks.keys()].sort()).toEqual(['t0', 't1', 't2'])
    // `a` finishes again: it is now the newest, so `b` (finished first of those left) goes.
    store.finish(a!, 'succeeded', {})
    expect(store.finishedCount).toBe(2)
    expect([...store.tasks.keys()].sort()).toEqual(['t0', 't2'])
  })

  it('keeps no deleted task alive: only about maxFinished task objects stay reachable', async () => {
    const { store } = await ownerParts({ maxFinished: 200 })
    const refs: Array<WeakRef<StoredTask>> = []
    // Tasks made here are referenced only by the store (and the WeakRefs).
    await (async (): Promise<void> => {
      for (const task of await addTasks(store, 't', 599)) {
        refs.push(new WeakRef(task))
        store.finish(task, 'succeeded', {})
      }
    })()
    await store.journal.flush()
    await fullGc()
    const alive = refs.filter((ref) => ref.deref() != null).length
    expect(store.finishedCount).toBe(200)
    expect(alive).toBe(200)
    // And once every task is gone (a queue_clear), none is kept by the finish order.
    await (async (): Promise<void> => {
      for (const task of [...store.tasks.values()]) await store.remove(task)
    })()
    await store.journal.flush()
    await fullGc()
    expect(refs.filter((ref) => ref.deref() != null).length).toBe(0)
  })

  it('a journal holding more finished tasks than the bound is cut down on recovery, oldest finished first', async () => {
    const first = await ownerParts({ maxFinished: 100 })
    // Submitted a, b, c; finished c, b, a: a is the newest finished though the first submitted.
    const [a, b, c] = await addTasks(first.store, 'x', 3)
    for (const [task, at] of [
      [a!, 3_000],
      [b!, 2_000],
      [c!, 1_000]
    ] as const) {
      first.store.finish(task, 'succeeded', {})
      task.finishedAt = at
      await first.store.journal.put(task)
    }
    await first.store.journal.flush()
    const { store, leases, scheduler } = await ownerParts({ maxFinished: 2, datastore: first.datastore })
    await recoverTasks({
      store,
      leases,
      enqueue: (task) => scheduler.enqueue(task),
      mesh: { client: async () => undefined as never, peers: () => [], onCatalogChange: () => () => {} },
      leaseMs: 1_000
    })
    expect([...store.tasks.keys()].sort()).toEqual(['x0', 'x1'])
    expect(await journaledIds(store)).toEqual(['x0', 'x1'])
  })

  it('a journal holding more finished tasks than the bound is cut down on recovery', async () => {
    const first = await ownerParts({ maxFinished: 100 })
    const tasks = await addTasks(first.store, 't', 5)
    for (const task of tasks) first.store.finish(task, 'succeeded', {})
    for (const task of tasks) await first.store.journal.put(task)
    await first.store.journal.flush()

    const { store, leases, scheduler } = await ownerParts({ maxFinished: 2, datastore: first.datastore })
    const report = await recoverTasks({
      store,
      leases,
      enqueue: (task) => scheduler.enqueue(task),
      mesh: { client: async () => undefined as never, peers: () => [], onCatalogChange: () => () => {} },
      leaseMs: 1_000
    })
    expect(report.recovered).toBe(5)
    expect(store.finishedCount).toBe(2)
    expect([...store.tasks.keys()].sort()).toEqual(['t3', 't4'])
    expect(await journaledIds(store)).toEqual(['t3', 't4'])
    // The journal a fresh owner reads holds the same.
    expect((await new TaskJournal(first.datastore).loadAll()).map((task) => task.id).sort()).toEqual(['t3', 't4'])
  })
})
