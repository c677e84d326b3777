import { describe, expect, it } from 'vitest'
import { WaitTimeoutError } from '../../../src/queue/errors.js'
import { TaskWaiters } from '../../../src/queue/owner/waiters.js'
import type { Task } from '../../../src/queue/types.js'
import { storedTask } from '../fixtures.js'

const task = (id: string): Task => storedTask(id)

describe('TaskWaiters', () => {
  it('wakes every waiter of a task with one view; timeouts and aborts reject only their own waiter', async () => {
    const waiters = new TaskWaiters()
    const controller = new AbortController()
    const a = waiters.wait('t1', {})
    const b = waiters.wait('t1', { timeoutMs: 60_000 })
    const aborted = waiters.wait('t1', { signal: controller.signal })
    const timedOut = waiters.wait('t2', { timeoutMs: 1 })
    controller.abort(new Error('gone'))
    await expect(aborted).rejects.toThrow('gone')
    await expect(timedOut).rejects.toBeInstanceOf(WaitTimeoutError)
    let views = 0
    waiters.wake('t1', () => {
      views++
      return task('t1')
    })
    const [first, second] = await Promise.all([a, b])
    expect(views).toBe(1)
    expect(first).toBe(second)
    expect(first.id).toBe('t1')
    // Nobody waits any more: nothing is made.
    waiters.wake('t1', () => {
      views++
      return task('t1')
    })
    waiters.wake('t2', () => {
      views++
      return task('t2')
    })
    expect(views).toBe(1)
  })
})
