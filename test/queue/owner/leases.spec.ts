import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  MAX_LEASE_LOSSES,
  REFUSAL_BACKOFF_MAX_MS,
  REFUSAL_COOLDOWN_MS,
  TIMEOUT_GRACE_MS
} from '../../../src/queue/constants.js'
import { ownerParts, queued, storedTask } from '../fixtures.js'

async function leased(options: { dispatch?: 'pull' | 'push'; maxAttempts?: number; wake?: () => void } = {}) {
  const parts = await ownerParts({ leaseMs: 1_000, wake: options.wake })
  const task = queued(
    parts,
    storedTask('t1', {
      retry: {
        policy: 'none',
        maxAttempts: options.maxAttempts ?? 1,
        baseDelayMs: 0,
        jitter: false,
        retryOnToolError: false
      }
    })
  )
  parts.scheduler.dequeue(task)
  const lease = parts.leases.start(task, 'peer-a', options.dispatch ?? 'pull')
  return { ...parts, task, lease }
}

describe('leases', () => {
  it('starts an attempt: running, counted, journaled, one outstanding lease on the worker', async () => {
    const { task, leases, store, lease } = await leased()
    expect(task).toMatchObject({ state: 'running', attempts: 1, worker: 'peer-a', lease: { worker: 'peer-a' } })
    expect(leases.outstanding('peer-a')).toBe(1)
    await store.journal.flush()
    const [journaled] = await store.journal.loadAll()
    expect(journaled).toMatchObject({ id: 't1', state: 'running', lease: { token: lease.token, dispatch: 'pull' } })
  })

  it('requeues a pull task whose heartbeats stopped, with the attempt counted', async () => {
    const { task, leases, lease, scheduler } = await leased()
    leases.sweep(lease.expiresAt - 1)
    expect(task.state).toBe('running')
    leases.sweep(lease.expiresAt + 1)
    expect(task).toMatchObject({ state: 'queued', attempts: 1, leaseLosses: 1, reason: 'no heartbeat from peer-a' })
    expect(task.lease).toBeUndefined()
    expect(task.history.at(-1)).toMatchObject({ outcome: 'lease-lost', error: 'no heartbeat from peer-a' })
    expect(lease.controller.signal.aborted).toBe(true)
    expect(leases.get('t1')).toBeUndefined()
    expect(leases.outstanding('peer-a')).toBe(0)
    expect(scheduler.open(10).map((open) => open.id)).toEqual(['t1'])
  })

  it('offers a worker that lost a lease or was denied a task no work for a moment: no push, no claim', async () => {
    const { leases, lease, task, scheduler } = await leased()
    leases.lost('t1', lease.token, 'gone')
    expect(leases.coolingDown('peer-a', Date.now())).toBe(true)
    expect(leases.pushPaused('peer-a', Date.now())).toBe(true)
    expect(leases.coolingDown('peer-b', Date.now())).toBe(false)
    scheduler.dequeue(task)
    const next = leases.start(task, 'peer-b', 'push')
    leases.notExecuted('t1', next.token, 'denied: not in trust.acceptFrom', 'peer-b')
    expect(leases.coolingDown('peer-b', Date.now())).toBe(true)
    expect(task).toMatchObject({ state: 'queued', attempts: 1 })
    leases.sweep(Date.now() + 60_000)
    expect(leases.coolingDown('peer-a', Date.now())).toBe(false)
  })

  it('pauses pushes to a worker that refused one as busy until a lease of this owner on it ends; its claims stay welcome', async () => {
    const parts = await ownerParts({ leaseMs: 1_000 })
    const { leases, scheduler } = parts
    const running = queued(parts, storedTask('t1'))
    scheduler.dequeue(running)
    const held = leases.start(running, 'peer-a', 'push')
    const refused = queued(parts, storedTask('t2'))
    scheduler.dequeue(refused)
    const attempt = leases.start(refused, 'peer-a', 'push')
    leases.refusedBusy('t2', attempt.token, "busy: the worker's slots for peers are full", 'peer-a')
    // Requeued, the attempt not counted, recorded as rejected.
    expect(refused).toMatchObject({
      state: 'queued',
      attempts: 0,
      reason: "busy: the worker's slots for peers are full"
    })
    expect(refused.history.at(-1)).toMatchObject({ outcome: 'rejected' })
    expect(scheduler.open(10).map((open) => open.id)).toEqual(['t2'])
    // A full worker is not a faulty one: no push for now, but a claim from it is no reason to refuse.
    expect(leases.pushPaused('peer-a', Date.now())).toBe(true)
    expect(leases.coolingDown('peer-a', Date.now())).toBe(false)
    expect(leases.pushPaused('peer-b', Date.now())).toBe(false)
    // The slot t1 held frees: t2 may be pushed at once.
    leases.settle('t1', held.token, { result: { content: [] } })
    expect(leases.pushPaused('peer-a', Date.now())).toBe(false)
  })

  it('forgets pauses, cooldowns and strikes when every attempt is aborted (the queue stops)', async () => {
    const { leases, lease, task, scheduler } = await leased()
    leases.lost('t1', lease.token, 'gone')
    scheduler.dequeue(task)
    const attempt = leases.start(task, 'peer-b', 'push')
    leases.refusedBusy('t1', attempt.token, "busy: the worker's slots for peers are full", 'peer-b')
    // Positive control: both peers are paused before the stop.
    expect(leases.coolingDown('peer-a', Date.now())).toBe(true)
    expect(leases.pushPaused('peer-b', Date.now())).toBe(true)
    leases.abortAll('stopping')
    expect(leases.coolingDown('peer-a', Date.now())).toBe(false)
    expect(leases.pushPaused('peer-a', Date.now())).toBe(false)
    expect(leases.pushPaused('peer-b', Date.now())).toBe(false)
  })

  describe('with fake timers', () => {
    afterEach(() => {
      vi.useRealTimers()
    })

    it('wakes the pump when a busy worker it holds no lease on may be pushed to again', async () => {
      const wake = vi.fn()
      const { leases, lease } = await leased({ dispatch: 'push', wake })
      vi.useFakeTimers()
      leases.refusedBusy('t1', lease.token, 'busy: worker is at maxConcurrency', 'peer-a')
      expect(leases.pushPaused('peer-a', Date.now())).toBe(true)
      await vi.advanceTimersByTimeAsync(REFUSAL_COOLDOWN_MS - 10)
      expect(wake).not.toHaveBeenCalled()
      await vi.advanceTimersByTimeAsync(20)
      expect(wake).toHaveBeenCalledTimes(1)
      expect(leases.pushPaused('peer-a', Date.now())).toBe(false)
    })

    it('doubles the pause of a worker that keeps refusing pushes, up to a bound, and forgets it once it returns a result', async () => {
      const parts = await ownerParts({ leaseMs: 1_000, wake: () => {} })
      const { leases, scheduler } = parts
      vi.useFakeTimers()
      const task = queued(parts, storedTask('t1'))
      /** Pushes t1 to peer-a, which refuses it; returns how long pushes to peer-a then stay paused. */
      const refusedFor = (): number => {
        scheduler.dequeue(task)
        leases.refusedBusy(
          't1',
          leases.start(task, 'peer-a', 'push').token,
          'busy: worker is at maxConcurrency',
          'peer-a'
        )
        const from = Date.now()
        let paused = 0
        while (leases.pushPaused('peer-a', from + paused)) paused += 250
        return paused
      }
      expect([refusedFor(), refusedFor(), refusedFor()]).toEqual([
        REFUSAL_COOLDOWN_MS,
        2 * REFUSAL_COOLDOWN_MS,
        4 * REFUSAL_COOLDOWN_MS
      ])
      for (let i = 0; i < 10; i++) refusedFor()
      expect(refusedFor()).toBe(REFUSAL_BACKOFF_MAX_MS)
      // The worker runs a task: its next refusal pauses it for the first length again.
      scheduler.dequeue(task)
      leases.settle('t1', leases.start(task, 'peer-a', 'push').token, { result: { content: [] } })
      const next = queued(parts, storedTask('t2'))
      scheduler.dequeue(next)
      leases.refusedBusy('t2', leases.start(next, 'peer-a', 'push').token, 'busy', 'peer-a')
      expect(leases.pushPaused('peer-a', Date.now() + REFUSAL_COOLDOWN_MS - 10)).toBe(true)
      expect(leases.pushPaused('peer-a', Date.now() + REFUSAL_COOLDOWN_MS + 10)).toBe(false)
    })

    it('wakes the pump when a cooldown ends, once per end, earliest first', async () => {
      const wake = vi.fn()
      const parts = await ownerParts({ leaseMs: 1_000, wake })
      const { leases, scheduler } = parts
      vi.useFakeTimers()
      const first = queued(parts, storedTask('t1'))
      scheduler.dequeue(first)
      leases.lost('t1', leases.start(first, 'peer-a', 'pull').token, 'gone')
      await vi.advanceTimersByTimeAsync(REFUSAL_COOLDOWN_MS / 2)
      scheduler.dequeue(first)
      leases.lost('t1', leases.start(first, 'peer-b', 'pull').token, 'gone')
      await vi.advanceTimersByTimeAsync(REFUSAL_COOLDOWN_MS / 2 + 10)
      expect(wake).toHaveBeenCalledTimes(1)
      expect(leases.coolingDown('peer-a', Date.now())).toBe(false)
      expect(leases.coolingDown('peer-b', Date.now())).toBe(true)
      await vi.advanceTimersByTimeAsync(REFUSAL_COOLDOWN_MS / 2)
      expect(wake).toHaveBeenCalledTimes(2)
      expect(leases.coolingDown('peer-b', Date.now())).toBe(false)
      await vi.advanceTimersByTimeAsync(10 * REFUSAL_COOLDOWN_MS)
      expect(wake).toHaveBeenCalledTimes(2)
    })
  })

  it('leaves push leases to their call (progress renews them), not to the sweep', async () => {
    const { task, leases, lease } = await leased({ dispatch: 'push' })
    leases.sweep(lease.expiresAt + 60_000)
    expect(task.state).toBe('running')
  })

  it('declares a task dead once it lost more leases than allowed and has no attempts left', async () => {
    const { task, leases, scheduler } = await leased()
    for (let loss = 1; loss <= MAX_LEASE_LOSSES + 1; loss++) {
      const lease = leases.get('t1')!
      leases.lost('t1', lease.token, `loss ${loss}`)
      if (loss <= MAX_LEASE_LOSSES) {
        expect(task.state).toBe('queued')
        scheduler.dequeue(task)
        leases.start(task, 'peer-a', 'pull')
      }
    }
    expect(task).toMatchObject({
      state: 'dead',
      error: `lease lost ${MAX_LEASE_LOSSES + 1} times; last: loss ${MAX_LEASE_LOSSES + 1}`
    })
  })

  it('ignores answers carrying a stale token', async () => {
    const { task, leases, lease } = await leased()
    leases.settle('t1', 'stale', { result: { content: [] } })
    leases.lost('t1', 'stale', 'nope')
    leases.notExecuted('t1', 'stale', 'nope')
    expect(task.state).toBe('running')
    expect(leases.get('t1')).toBe(lease)
  })

  it('retries a failed attempt after the policy delay, then fails it for good', async () => {
    const { task, leases, lease, scheduler } = await leased({ maxAttempts: 2 })
    task.retry = { ...task.retry, policy: 'linear', baseDelayMs: 60_000 }
    const before = Date.now()
    leases.settle('t1', lease.token, { result: { content: [{ type: 'text', text: 'boom' }], isError: true } })
    expect(task).toMatchObject({ state: 'queued', attempts: 1, error: 'boom' })
    expect(task.runAt).toBeGreaterThanOrEqual(before + 60_000)
    expect(scheduler.open(10)).toEqual([])
    scheduler.dequeue(task)
    const second = leases.start(task, 'peer-a', 'pull')
    leases.settle('t1', second.token, { timeout: true })
    expect(task).toMatchObject({ state: 'dead', attempts: 2, error: 'timed out after 10000 ms' })
    scheduler.stop()
  })

  it('cancels a running attempt so a late result is not recorded', async () => {
    const { task, leases, lease } = await leased()
    expect(leases.cancel(task, 'user')).toBe(lease)
    expect(task).toMatchObject({ state: 'cancelled', error: 'user' })
    leases.settle('t1', lease.token, { result: { content: [] } })
    expect(task.state).toBe('cancelled')
    expect(leases.outstanding('peer-a')).toBe(0)
  })
})

describe('leases: every attempt has a deadline', () => {
  it("times out a pull attempt kept alive by heartbeats once the task's timeout plus grace passed, for an abort", async () => {
    const { task, leases, lease } = await leased()
    expect(lease.deadline).toBe((task.startedAt ?? 0) + task.timeoutMs + TIMEOUT_GRACE_MS)
    lease.expiresAt = lease.deadline + 60_000
    expect(leases.sweep(lease.deadline - 1)).toEqual([])
    expect(leases.sweep(lease.deadline + 1)).toEqual([{ taskId: 't1', lease }])
    expect(task).toMatchObject({ state: 'failed', error: `timed out after ${task.timeoutMs} ms` })
    expect(task.history.at(-1)?.outcome).toBe('timeout')
    expect(lease.controller.signal.aborted).toBe(true)
  })

  it('times out a local attempt too (its run is aborted through the lease); the retry policy applies', async () => {
    const parts = await ownerParts({ leaseMs: 1_000 })
    const task = queued(
      parts,
      storedTask('t1', {
        retry: { policy: 'linear', maxAttempts: 2, baseDelayMs: 0, jitter: false, retryOnToolError: false }
      })
    )
    parts.scheduler.dequeue(task)
    const lease = parts.leases.start(task, 'local', 'local')
    expect(parts.leases.sweep(lease.deadline + 1)).toEqual([])
    expect(lease.controller.signal.aborted).toBe(true)
    expect(task).toMatchObject({ state: 'queued', attempts: 1 })
    expect(task.history.at(-1)?.outcome).toBe('timeout')
    parts.scheduler.stop()
  })
})
