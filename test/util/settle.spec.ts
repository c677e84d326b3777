import { describe, expect, it } from 'vitest'
import { afterSettled, attempt } from '../../src/util/settle.js'

describe('attempt', () => {
  it("returns fn's promise, passing the arguments", async () => {
    await expect(attempt(async (a: number, b: number) => a + b, 2, 3)).resolves.toBe(5)
  })

  it("turns fn's synchronous throw into a rejection", async () => {
    const thrower = (): Promise<never> => {
      throw new Error('sync')
    }
    await expect(attempt(thrower)).rejects.toThrow('sync')
  })
})

describe('afterSettled', () => {
  it('runs done before what is chained on it, on fulfilment and on rejection, passing the outcome on', async () => {
    const order: string[] = []
    const ok = afterSettled(Promise.resolve(1), () => order.push('done ok')).then((value) => {
      order.push(`then ${value}`)
    })
    const failed = afterSettled(Promise.reject(new Error('no')), () => order.push('done failed')).catch(
      (err: Error) => {
        order.push(`catch ${err.message}`)
      }
    )
    await Promise.all([ok, failed])
    expect(order.indexOf('done ok')).toBeLessThan(order.indexOf('then 1'))
    expect(order.indexOf('done failed')).toBeLessThan(order.indexOf('catch no'))
  })
})
