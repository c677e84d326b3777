/**
 * Promise helpers for the per-call hot paths, where `async` wrappers and
 * `.finally` each cost a promise and a microtask hop per call (measured in
 * issue 12; bench/RESULTS.md).
 */

/** `fn(...args)`'s promise; a synchronous throw of `fn` becomes its rejection (as from an async function). */
export function attempt<A extends unknown[], T>(fn: (...args: A) => Promise<T>, ...args: A): Promise<T> {
  try {
    return fn(...args)
  } catch (err) {
    return Promise.reject(err)
  }
}

/**
 * `promise`, with `done` run once it settles (before anything chained on
 * the returned promise). As `promise.finally(done)`, without its extra
 * promise and hop; a throw of `done` rejects the returned promise.
 */
export function afterSettled<T>(promise: Promise<T>, done: () => void): Promise<T> {
  return promise.then(
    (value) => {
      done()
      return value
    },
    (err: unknown) => {
      done()
      throw err
    }
  )
}
