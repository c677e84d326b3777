import { MemoryDatastore } from 'datastore-core'
import { describe, expect, it } from 'vitest'
import { TaskJournal } from '../../../src/queue/owner/journal.js'
import type { Task } from '../../../src/queue/types.js'

function task(id: string, seq: number): Task {
  return {
    id,
    tool: 'echo',
    args: { message: id },
    state: 'queued',
    priority: 5,
    seq,
    tags: [],
    argsHash: 'h',
    retry: { policy: 'none', maxAttempts: 1, baseDelayMs: 0, jitter: true, retryOnToolError: false },
    timeoutMs: 1000,
    runAt: 0,
    createdAt: 0,
    updatedAt: 0,
    attempts: 0,
    history: [],
    failIfNoWorker: false,
    labels: {}
  }
}

describe('TaskJournal', () => {
  it('group-commits concurrent writes and reads them back', async () => {
    const datastore = new MemoryDatastore()
    const journal = new TaskJournal(datastore)
    await Promise.all(Array.from({ length: 100 }, async (_, i) => journal.put(task(`t${i}`, i))))
    expect(journal.writes).toBe(100)
    expect(journal.batches).toBeLessThan(10)
    const loaded = await new TaskJournal(datastore).loadAll()
    expect(loaded.map((t) => t.id).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `t${i}`).sort())
  })

  it('keeps the latest state of a task and deletes it', async () => {
    const datastore = new MemoryDatastore()
    const journal = new TaskJournal(datastore)
    const t = task('x', 1)
    await journal.put(t)
    t.state = 'succeeded'
    journal.putLater(t)
    await journal.flush()
    expect((await journal.loadAll())[0]?.state).toBe('succeeded')
    await journal.delete('x')
    expect(await journal.loadAll()).toEqual([])
    await journal.saveState({ paused: true, seq: 9 })
    expect(await journal.loadState()).toEqual({ paused: true, seq: 9 })
  })
})
