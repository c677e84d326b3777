import { AsyncLocalStorage } from 'node:async_hooks'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { Deadlines } from '../../src/router/deadlines.js'
import { DEADLINE_TOLERANCE_MS } from '../../src/router/constants.js'

/** Resolves with performance.now() when the deadline expires. */
function expiry(
  deadlines: Deadlines,
  ms: number
): { expired: Promise<number>; deadline: ReturnType<Deadlines['add']> } {
  const { promise, resolve } = Promise.withResolvers<number>()
  const deadline = deadlines.add(ms, () => resolve(performance.now()))
  return { expired: promise, deadline }
}

describe('Deadlines', () => {
  it('expires a deadline once its time has passed, not before', async () => {
    const deadlines = new Deadlines()
    const started = performance.now()
    const { expired } = expiry(deadlines, 40)
    expect(await expired).toBeGreaterThanOrEqual(started + 40 - DEADLINE_TOLERANCE_MS)
  })

  it('never expires a cancelled deadline, and expires the others', async () => {
    const deadlines = new Deadlines()
    let cancelledRan = false
    const cancelled = deadlines.add(20, () => {
      cancelledRan = true
    })
    const { expired } = expiry(deadlines, 40)
    deadlines.cancel(cancelled)
    deadlines.cancel(cancelled)
    await expired
    expect(cancelledRan).toBe(false)
  })

  it('re-arms for a deadline that comes before the armed one, and keeps the later one', async () => {
    const deadlines = new Deadlines()
    const order: string[] = []
    const long = expiry(deadlines, 200)
    const short = expiry(deadlines, 20)
    void long.expired.then(() => order.push('long'))
    void short.expired.then(() => order.push('short'))
    const shortAt = await short.expired
    expect(order).toEqual(['short'])
    const longAt = await long.expired
    expect(longAt - shortAt).toBeGreaterThan(100)
    expect(order).toEqual(['short', 'long'])
  })

  it('expires deadlines of one duration in order, each at its own time', async () => {
    const deadlines = new Deadlines()
    const first = expiry(deadlines, 30)
    const second = expiry(deadlines, 30)
    const third = expiry(deadlines, 30)
    deadlines.cancel(third.deadline)
    const firstAt = await first.expired
    const secondAt = await second.expired
    expect(secondAt).toBeGreaterThanOrEqual(second.deadline.at - DEADLINE_TOLERANCE_MS)
    expect(secondAt).toBeGreaterThanOrEqual(firstAt)
  })

  it('holds the process only while a deadline is pending', async () => {
    const module = join(import.meta.dirname, '..', '..', 'dist', 'src', 'router', 'deadlines.js')
    const run = async (body: string): Promise<string> => {
      const script = `const { Deadlines } = await import(${JSON.stringify(module)}); const deadlines = new Deadlines(); ${body}`
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        timeout: 20_000
      })
      return stdout.trim()
    }
    const started = performance.now()
    // The timer stays armed for the cancelled deadline: it must not keep the process.
    expect(
      await run("deadlines.cancel(deadlines.add(60_000, () => console.log('expired'))); console.log('idle')")
    ).toBe('idle')
    // A pending deadline does keep it, until it expires.
    expect(await run("deadlines.add(30, () => console.log('expired'))")).toBe('expired')
    expect(performance.now() - started).toBeLessThan(20_000)
  })

  it('expires a deadline in the async context of the call that set it', async () => {
    const deadlines = new Deadlines()
    const storage = new AsyncLocalStorage<string>()
    const seen: Array<string | undefined> = []
    const done = ['a', 'b'].map((name, i) =>
      storage.run(name, () => {
        const { promise, resolve } = Promise.withResolvers<void>()
        deadlines.add(20 + i, () => {
          seen.push(storage.getStore())
          resolve()
        })
        return promise
      })
    )
    await Promise.all(done)
    expect(seen.sort()).toEqual(['a', 'b'])
  })
})
