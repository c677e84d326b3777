import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { heartbeatPushed } from '../../../src/queue/worker/heartbeat.js'
import { FIXTURES_DIR, NODE_BIN, REPO_ROOT } from '../../helpers/index.js'

describe('heartbeatPushed', () => {
  it('beats every running task on the shared ticker until it stops', async () => {
    const beats: Record<string, number[]> = { a: [], b: [] }
    const stopA = heartbeatPushed(120, ({ progress }) => beats.a?.push(progress))
    const stopB = heartbeatPushed(120, ({ progress }) => beats.b?.push(progress))
    await expect.poll(() => (beats.a?.length ?? 0) >= 2 && (beats.b?.length ?? 0) >= 2, { timeout: 5_000 }).toBe(true)
    stopA()
    const seen = beats.a?.length ?? 0
    const more = (beats.b?.length ?? 0) + 2
    await expect.poll(() => beats.b?.length ?? 0, { timeout: 5_000 }).toBeGreaterThanOrEqual(more)
    stopB()
    expect(beats.a).toHaveLength(seen)
    expect(beats.a?.slice(0, 2)).toEqual([1, 2])
  })

  it("keeps a stopped task's beat (and what its progress callback holds) out of the old generation", () => {
    // In a child with a small young generation, against this build's dist/ (npm run build first):
    // 64 tasks beat at once, the oldest stops at each step. Measured: a Set of beats ~424 bytes
    // promoted per task (its progress callback's 1 KiB), the ChurnMap ~3.
    const out = execFileSync(
      NODE_BIN,
      [
        '--max-semi-space-size=1',
        '--no-allocation-site-pretenuring',
        join(FIXTURES_DIR, 'heartbeat-promotion.mjs'),
        REPO_ROOT
      ],
      { encoding: 'utf8', timeout: 60_000 }
    )
    const { promoted } = JSON.parse(out) as { promoted: number }
    expect(promoted).toBeLessThan(64)
  })
})
