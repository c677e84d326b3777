import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Key } from 'interface-datastore'
import { afterEach, describe, expect, it } from 'vitest'
import { TaskJournal } from '../../../src/queue/owner/journal.js'
import type { Task } from '../../../src/queue/types.js'

/**
 * Puts `t`, then in the same turn its lease (`running`, one attempt, and
 * `lease`'s fields): both go in one batch, as one base record.
 */
async function putLeased(journal: TaskJournal, t: Task, lease: Partial<Task> = {}): Promise<void> {
  const base = journal.put(t)
  Object.assign(t, { state: 'running', attempts: 1 }, lease)
  journal.putLater(t)
  await base
}

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

  it('writes a task once in full, then only its changing fields, and compacts them on load', async () => {
    for (const datastore of [new MemoryDatastore(), await level()]) {
      const journal = new TaskJournal(datastore)
      const t = task('y', 1)
      // Written in the same turn: one base record with the lease.
      await putLeased(journal, t)
      expect(journal.writes).toBe(1)
      t.state = 'succeeded'
      t.result = { content: [{ type: 'text', text: 'done' }] }
      journal.putLater(t)
      await journal.flush()
      const keys = async (prefix: string): Promise<string[]> => {
        const found: string[] = []
        for await (const key of datastore.queryKeys({ prefix })) found.push(key.toString())
        return found
      }
      const update = await datastore.get(new Key('/mcp-mesh/task-updates/y'))
      const decoded = JSON.parse(new TextDecoder().decode(update)) as Record<string, unknown>
      expect(decoded.state).toBe('succeeded')
      expect(decoded.args).toBeUndefined()
      expect(await keys('/mcp-mesh/task-updates/')).toEqual(['/mcp-mesh/task-updates/y'])
      const loaded = await new TaskJournal(datastore).loadAll()
      expect(loaded).toEqual([t])
      expect(await keys('/mcp-mesh/task-updates/')).toEqual([])
      expect(await new TaskJournal(datastore).loadAll()).toEqual([t])
      await journal.delete('y')
      expect(await new TaskJournal(datastore).loadAll()).toEqual([])
    }
  })

  it("leaves out of an update the fields still as the task's base record holds them", async () => {
    for (const datastore of [new MemoryDatastore(), await level()]) {
      const journal = new TaskJournal(datastore)
      const t = task('u', 1)
      // The lease joins the base record (one batch): its fields are in the base.
      await putLeased(journal, t, { startedAt: 5, worker: 'peer-a' })
      const update = async (): Promise<Record<string, unknown>> =>
        JSON.parse(new TextDecoder().decode(await datastore.get(new Key('/mcp-mesh/task-updates/u')))) as Record<
          string,
          unknown
        >
      t.state = 'succeeded'
      t.updatedAt = 9
      t.finishedAt = 9
      t.history.push({ attempt: 1, worker: 'peer-a', dispatch: 'push', startedAt: 5, finishedAt: 9 })
      t.result = { content: [{ type: 'text', text: 'done' }] }
      journal.putLater(t)
      await journal.flush()
      const written = await update()
      expect(Object.keys(written).sort()).toEqual(['finishedAt', 'history', 'result', 'state', 'updatedAt'])
      expect(await new TaskJournal(datastore).loadAll()).toEqual([t])
      // A field changed since the base (a manual retry's policy, priority and runAt) is written again.
      t.state = 'queued'
      t.retry = { ...t.retry, maxAttempts: 2 }
      t.priority = 7
      t.runAt = 11
      journal.putLater(t)
      await journal.flush()
      expect(await update()).toMatchObject({ retry: t.retry, priority: 7, runAt: 11, attempts: 1, worker: 'peer-a' })
      expect(await new TaskJournal(datastore).loadAll()).toEqual([t])
    }
  })

  it('tells when the acceptance of a task is committed', async () => {
    const journal = new TaskJournal(new MemoryDatastore())
    const t = task('z', 1)
    expect(journal.accepted('z')).toBeUndefined()
    const written = journal.put(t)
    const accepted = journal.accepted('z')
    expect(accepted).toBeInstanceOf(Promise)
    await Promise.all([written, accepted])
    expect(journal.accepted('z')).toBeUndefined()
    t.state = 'running'
    journal.putLater(t)
    // Only an update is pending: the acceptance is on disk already.
    expect(journal.accepted('z')).toBeUndefined()
    await journal.flush()
  })
})

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

/** A LevelDB datastore in a temporary directory (the journal writes its batches to the level directly). */
async function level(): Promise<LevelDatastore> {
  const dir = await mkdtemp(join(tmpdir(), 'journal-'))
  dirs.push(dir)
  const datastore = new LevelDatastore(join(dir, 'db'))
  await datastore.open()
  return datastore
}
