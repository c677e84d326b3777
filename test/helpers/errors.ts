/**
 * Capture an error to assert on it (by `name`, as the project's errors set
 * `name` to their class name). Both fail the test when nothing is thrown.
 */

/** The error `promise` rejects with. */
export async function rejectionOf<E extends Error = Error>(promise: Promise<unknown>): Promise<E> {
  try {
    await promise
  } catch (err) {
    return err as E
  }
  throw new Error('expected the promise to reject, but it resolved')
}

/** The error `fn` throws. */
export function thrownBy<E extends Error = Error>(fn: () => unknown): E {
  try {
    fn()
  } catch (err) {
    return err as E
  }
  throw new Error('expected the function to throw, but it returned')
}
