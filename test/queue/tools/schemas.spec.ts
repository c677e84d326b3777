import { describe, expect, it } from 'vitest'
import { taskOutput, taskRecord, taskSchema } from '../../../src/queue/tools/schemas.js'
import type { Task } from '../../../src/queue/types.js'

function bare(): Task {
  return {
    id: 't1',
    tool: 'echo',
    args: { message: 'hi', nested: { a: [1, 2] } },
    state: 'queued',
    priority: 5,
    seq: 1,
    tags: [],
    argsHash: 'h',
    retry: { policy: 'none', maxAttempts: 1, baseDelayMs: 0, jitter: true, retryOnToolError: false },
    timeoutMs: 1000,
    runAt: 10,
    createdAt: 10,
    updatedAt: 10,
    attempts: 0,
    history: [],
    failIfNoWorker: false,
    labels: {}
  }
}

function full(): Task {
  return {
    ...bare(),
    state: 'dead',
    tags: ['a', 'b'],
    idempotencyKey: 'k',
    // A field outside the schema (as a tool's metadata may carry) is dropped like zod drops it.
    retry: {
      policy: 'linear',
      maxAttempts: 3,
      baseDelayMs: 5,
      jitter: false,
      retryOnToolError: true,
      extra: 1
    } as never,
    startedAt: 11,
    finishedAt: 12,
    attempts: 2,
    history: [
      { attempt: 1, worker: 'w1', dispatch: 'push', startedAt: 11, finishedAt: 11, outcome: 'failed', error: 'x' },
      { attempt: 2, worker: 'w2', dispatch: 'pull', startedAt: 11 }
    ],
    worker: 'w2',
    result: { content: [{ type: 'text', text: 'r' }], isError: true },
    error: 'boom',
    reason: 'why',
    placement: { tags: ['gpu'], spread: 's' },
    failIfNoWorker: true,
    labels: { a: 'b' },
    expiresAt: 99
  }
}

describe('taskRecord', () => {
  it('is exactly what the output schema makes of taskOutput, key order included', () => {
    for (const task of [bare(), full(), { ...full(), placement: { local: true, peer: 'p' } }]) {
      const parsed = taskSchema.parse(taskOutput(task))
      const record = taskRecord(task)
      expect(record).toStrictEqual(parsed)
      expect(JSON.stringify(record)).toBe(JSON.stringify(parsed))
    }
  })
})
