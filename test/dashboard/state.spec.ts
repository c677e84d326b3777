import { describe, expect, it } from 'vitest'
import { type DashboardSources, StateBuilder } from '../../src/dashboard/index.js'
import type { Task, TaskPage, TaskQueueApi } from '../../src/queue/index.js'

/** A queue listing oldest first in pages, with a seq cursor, as the real one does. */
function queueOf(count: number): TaskQueueApi {
  const tasks = Array.from(
    { length: count },
    (_, i) =>
      ({
        id: `t${i}`,
        seq: i + 1,
        tool: 'echo',
        state: i % 2 === 0 ? 'succeeded' : 'queued',
        priority: 5,
        attempts: 0,
        createdAt: i,
        labels: {}
      }) as unknown as Task
  )
  return {
    list: (_filter: unknown, page: { cursor?: string; limit?: number } = {}): TaskPage => {
      const after = Number(page.cursor ?? 0)
      const limit = page.limit ?? 100
      const start = tasks.findIndex((task) => task.seq > after)
      const slice = start < 0 ? [] : tasks.slice(start, start + limit)
      const more = start >= 0 && start + limit < tasks.length
      return { tasks: slice, total: tasks.length, nextCursor: more ? String(slice.at(-1)!.seq) : undefined }
    }
  } as unknown as TaskQueueApi
}

function sources(queue: TaskQueueApi): DashboardSources {
  return {
    refreshMs: 1000,
    node: () => ({ peerId: 'self', version: '1', meshName: 'm', uptimeMs: 0, sessions: 0, addresses: [] }),
    health: async () => ({ healthy: true, checks: [] }),
    peers: () => undefined,
    localTools: () => [],
    queue: () => queue,
    workflows: () => undefined
  }
}

describe('the dashboard state', () => {
  it('counts every task by state and lists the newest 200, newest first', async () => {
    const state = await new StateBuilder(sources(queueOf(1234))).snapshot()
    expect(state.tasks.total).toBe(1234)
    expect(state.tasks.counts).toEqual({ succeeded: 617, queued: 617 })
    expect(state.tasks.rows).toHaveLength(200)
    expect(state.tasks.rows[0]!.id).toBe('t1233')
    expect(state.tasks.rows.at(-1)!.id).toBe('t1034')
  })

  it('reports a failing health check instead of failing the snapshot', async () => {
    const failing = { ...sources(queueOf(0)), health: async () => Promise.reject(new Error('datastore gone')) }
    const state = await new StateBuilder(failing).snapshot()
    expect(state.health).toEqual({
      healthy: false,
      checks: [{ subsystem: 'node', ok: false, detail: 'datastore gone' }]
    })
    expect(state.peers).toEqual([])
    expect(state.workflows).toEqual([])
  })
})
