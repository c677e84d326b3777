import { describe, expect, it } from 'vitest'
import { rejectionOf } from './errors.js'
import { mergeJson } from './home.js'
import { waitFor, withTimeout } from './wait.js'

describe('waitFor', () => {
  it('returns the first truthy value of the condition', async () => {
    let polls = 0
    const value = await waitFor(() => (++polls >= 3 ? { polls } : undefined), { intervalMs: 1 })
    expect(value).toEqual({ polls: 3 })
  })

  it('treats a throwing condition as "not yet" and reports the last error as the cause', async () => {
    const err = await rejectionOf(
      waitFor(
        () => {
          throw new Error('still starting')
        },
        { timeoutMs: 30, intervalMs: 5, message: 'the node' }
      )
    )
    expect(err.name).toBe('WaitTimeoutError')
    expect(err.message).toContain('the node')
    expect((err.cause as Error).message).toBe('still starting')
  })

  it('stops when its signal aborts', async () => {
    const controller = new AbortController()
    const waiting = waitFor(() => false, { timeoutMs: 10_000, intervalMs: 1, signal: controller.signal })
    controller.abort(new Error('gave up'))
    expect((await rejectionOf(waiting)).message).toBe('gave up')
  })
})

describe('withTimeout', () => {
  it('passes the value through, or rejects with WaitTimeoutError', async () => {
    expect(await withTimeout(Promise.resolve(7), 1_000)).toBe(7)
    const err = await rejectionOf(withTimeout(new Promise(() => {}), 10, 'nothing'))
    expect(err.name).toBe('WaitTimeoutError')
    expect(err.message).toContain('nothing')
  })
})

describe('mergeJson', () => {
  it('merges objects deeply, replaces arrays and scalars, deletes on undefined', () => {
    expect(
      mergeJson({ a: { b: 1, c: [1, 2] }, d: 'x', e: true }, { a: { c: [3], f: 2 }, d: undefined, e: false })
    ).toEqual({ a: { b: 1, c: [3], f: 2 }, e: false })
  })
})
