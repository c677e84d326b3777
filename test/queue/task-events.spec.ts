import { afterEach, describe, expect, it, vi } from 'vitest'
import { WaitTimeoutError } from '../../src/queue/errors.js'
import { TaskWaiters } from '../../src/queue/owner/waiters.js'
import { TaskListeners } from '../../src/queue/task-events.js'
import type { Task } from '../../src/queue/types.js'
import { storedTask } from './fixtures.js'

const task = (id: string): Task => storedTask(id)

describe('TaskListeners (the queue’s task event)', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('calls listeners in order with one CustomEvent; a second add is ignored; once and signal remove', () => {
    const events = new TaskListeners()
    const seen: string[] = []
    const first = (event: CustomEvent<Task>): void => {
      seen.push(`first:${event.detail.id}`)
    }
    const object = { handleEvent: (event: CustomEvent<Task>) => seen.push(`object:${event.detail.id}`) }
    const controller = new AbortController()
    events.add(first)
    events.add(first)
    events.add(object)
    events.add((event) => seen.push(`once:${event.detail.id}`), { once: true })
    events.add((event) => seen.push(`signal:${event.detail.id}`), { signal: controller.signal })
    expect(events.size).toBe(4)
    let made = 0
    events.emit(() => {
      made++
      return task('a')
    })
    expect(made).toBe(1)
    controller.abort()
    events.emit(() => task('b'))
    events.remove(first)
    events.emit(() => task('c'))
    expect(seen).toEqual(['first:a', 'object:a', 'once:a', 'signal:a', 'first:b', 'object:b', 'object:c'])
    events.remove(object)
    let lazy = 0
    events.emit(() => {
      lazy++
      return task('d')
    })
    expect(lazy).toBe(0)
  })

  it('skips a listener removed during a dispatch and reports a throwing listener without stopping the others', () => {
    const events = new TaskListeners()
    const seen: string[] = []
    const later = (): void => {
      seen.push('later')
    }
    const reported: Array<() => void> = []
    vi.spyOn(process, 'nextTick').mockImplementation(((callback: () => void) => {
      reported.push(callback)
    }) as typeof process.nextTick)
    events.add(() => {
      seen.push('remover')
      events.remove(later)
    })
    events.add(() => {
      throw new Error('listener failed')
    })
    events.add(later)
    events.add(() => seen.push('last'))
    events.emit(() => task('a'))
    vi.restoreAllMocks()
    expect(seen).toEqual(['remover', 'last'])
    expect(reported).toHaveLength(1)
    expect(() => reported[0]!()).toThrow('listener failed')
  })
})

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
