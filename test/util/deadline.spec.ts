import { describe, expect, it } from 'vitest'
import { callDeadline, deadline, deadlineOn } from '../../src/util/deadline.js'
import { promotedBy } from '../helpers/gc.js'

describe('deadline', () => {
  it('aborts with the reason after the time, and says it expired', async () => {
    const parent = new AbortController()
    const limit = deadline(parent.signal, 5, () => new Error('too slow'))
    await new Promise<void>((resolve) => limit.signal.addEventListener('abort', () => resolve(), { once: true }))
    expect(limit.expired).toBe(true)
    expect((limit.signal.reason as Error).message).toBe('too slow')
    limit.dispose()
  })

  it('names the time in its default reason', async () => {
    const limit = deadline(new AbortController().signal, 5)
    await new Promise<void>((resolve) => limit.signal.addEventListener('abort', () => resolve(), { once: true }))
    expect((limit.signal.reason as Error).message).toBe('timed out after 5 ms')
  })

  it('passes the parent’s abort on, with its reason, and is not expired', () => {
    const parent = new AbortController()
    const limit = deadline(parent.signal, 60_000)
    parent.abort('stop')
    expect(limit.signal.aborted).toBe(true)
    expect(limit.signal.reason).toBe('stop')
    expect(limit.expired).toBe(false)
    limit.dispose()
  })

  it('is aborted at once under a parent that already aborted', () => {
    const parent = new AbortController()
    parent.abort('early')
    const limit = deadline(parent.signal, 60_000)
    expect(limit.signal.reason).toBe('early')
    limit.dispose()
  })

  it('stays live for a parent abort that keepRunning accepts', () => {
    const parent = new AbortController()
    const limit = deadline(parent.signal, 60_000, undefined, { keepRunning: (reason) => reason === 'keep' })
    parent.abort('keep')
    expect(limit.signal.aborted).toBe(false)
    limit.dispose()
  })

  it('abort() aborts now with the given reason', () => {
    const limit = deadline(new AbortController().signal, 60_000)
    limit.abort('now')
    expect(limit.signal.reason).toBe('now')
    limit.dispose()
  })

  it('after dispose, neither the parent nor the time aborts it', async () => {
    const parent = new AbortController()
    const limit = deadline(parent.signal, 5)
    limit.dispose()
    parent.abort('late')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(limit.signal.aborted).toBe(false)
    expect(limit.expired).toBe(false)
  })

  it('keeps no disposed call reachable from the old generation (a deadline per call stays cheap to collect)', () => {
    // Each "call" makes a deadline, hangs 1 KiB of its own on the deadline's signal, and is
    // done. An object-literal deadline with a getter kept every such call reachable across
    // young-generation collections (~1 KiB promoted per call, measured); now ~0.
    const parent = new AbortController()
    const calls = 20_000
    let sink: unknown
    const promoted = promotedBy(() => {
      for (let i = 0; i < calls; i++) {
        const limit = deadline(parent.signal, 30_000)
        const payload = new Array<number>(128).fill(i)
        limit.signal.addEventListener('abort', () => {
          sink = payload
        })
        limit.dispose()
      }
    })
    expect(sink).toBeUndefined()
    expect(promoted.scavenges).toBeGreaterThan(0)
    expect(promoted.bytes / calls).toBeLessThan(256)
  })

  describe('on a controller made for the call (deadlineOn)', () => {
    it('aborts that controller after the time, with the default reason, and says it expired', async () => {
      const controller = new AbortController()
      const limit = deadlineOn(controller, 5)
      expect(limit.signal).toBe(controller.signal)
      expect(limit.controller).toBe(controller)
      await new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }))
      expect(limit.expired).toBe(true)
      expect((controller.signal.reason as Error).message).toBe('timed out after 5 ms')
      limit.dispose()
    })

    it('keeps an abort that came first, and is not expired by it', () => {
      const controller = new AbortController()
      const limit = deadlineOn(controller, 60_000, () => new Error('too slow'))
      controller.abort('stop')
      expect(limit.signal.reason).toBe('stop')
      expect(limit.expired).toBe(false)
      limit.dispose()
    })

    it('never aborts once disposed', async () => {
      const controller = new AbortController()
      const limit = deadlineOn(controller, 1)
      limit.dispose()
      // A later timer of the same length fires after the disposed one would have.
      await new Promise<void>((resolve) => setTimeout(resolve, 5))
      expect(controller.signal.aborted).toBe(false)
      expect(limit.expired).toBe(false)
    })
  })
})

describe('callDeadline', () => {
  it('puts the deadline on the signal’s own controller', async () => {
    const controller = new AbortController()
    const limit = callDeadline(controller.signal, 5, controller)
    expect(limit.controller).toBe(controller)
    await new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }))
    expect(limit.expired).toBe(true)
    limit.dispose()
  })

  it('chains a controller of its own to a signal it was not given the controller of', () => {
    const parent = new AbortController()
    const unrelated = new AbortController()
    const limit = callDeadline(parent.signal, 60_000, unrelated)
    expect(limit.controller).not.toBe(unrelated)
    parent.abort('stop')
    expect(limit.signal.reason).toBe('stop')
    expect(unrelated.signal.aborted).toBe(false)
    limit.dispose()
  })
})
