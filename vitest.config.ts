import { defineConfig } from 'vitest/config'

// Integration tests spawn real node processes and libp2p hosts on 127.0.0.1,
// so they run in forks with a bounded number of workers (CI has 2 cores).
export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // One retry for a failed test: the integration tests run real node processes on a
    // 2-core machine, where a test waiting on an event can lose a race with the machine's
    // load (each such race found is fixed in the test; the retry keeps one unfound from
    // failing a whole run). Vitest reports every retried test, so a flake stays visible.
    retry: 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000
  }
})
