import { defineConfig } from 'vitest/config'

// Integration tests spawn real node processes and libp2p hosts on 127.0.0.1,
// so they run in forks with a bounded number of workers (CI has 2 cores).
export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000
  }
})
