import type { Client } from '@modelcontextprotocol/client'

/**
 * Progress notifications for one call, routed by a token of our own.
 *
 * The SDK client's `onprogress` drops a notification that is read in the same
 * chunk as the call's result: it handles the response first (and forgets the
 * token), while notification handlers run a microtask later. A server cannot
 * prevent that coalescing (a pipe or a socket may deliver both at once), so a
 * test that asserts *every* progress value registers its own handler for
 * `notifications/progress`, which is not removed by the response, and waits
 * for the values as events.
 *
 * Replaces the client's progress handler: use it on a client whose other
 * calls do not rely on `onprogress`.
 */
export interface ProgressCollector {
  /** The `_meta` to send with the call (carries the progress token). */
  meta: { progressToken: string }
  /** Progress values seen so far, in arrival order. */
  values: number[]
}

let nextToken = 0

export function collectProgress(client: Pick<Client, 'setNotificationHandler'>): ProgressCollector {
  const progressToken = `test-progress-${process.pid}-${nextToken++}`
  const collector: ProgressCollector = { meta: { progressToken }, values: [] }
  client.setNotificationHandler('notifications/progress', (notification) => {
    if (notification.params.progressToken === progressToken) collector.values.push(notification.params.progress)
  })
  return collector
}
