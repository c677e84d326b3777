/**
 * Red-team review: the lease a pushed task carries (`_meta["mcp-mesh/task"]`)
 * is the pushing peer's input. Its `leaseMs` sets the worker's heartbeat
 * timer (a third of it); a value past Node's 32-bit timer range makes that
 * timer fire every millisecond, so one pushed task would have the worker
 * send a thousand progress notifications a second. Such a lease must be
 * refused as invalid before anything runs. Control: a lease in range runs,
 * with heartbeats at a third of the lease.
 */
import { join } from 'node:path'
import { ProtocolErrorCode } from '@modelcontextprotocol/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, createHome, FIXTURES_DIR, type NodeProcess, spawnNode, tcpAddress } from '../helpers/index.js'
import { call, rawPeer, session, type Watched } from './mesh-raw-peer.js'

const PROVIDER = join(FIXTURES_DIR, 'mesh-provider.mjs')
const TASK_META_KEY = 'mcp-mesh/task'

let node: NodeProcess
let peer: Watched

beforeAll(async () => {
  node = await spawnNode({ home: (await createHome({ config: { tools: [PROVIDER] } })).dir })
  peer = await session(await rawPeer(), tcpAddress(await node.status()))
}, 60_000)

afterAll(cleanup)

function heartbeats(token: number): number {
  return peer.frames.filter((frame) => {
    const params = frame.params as { progressToken?: unknown; message?: unknown } | undefined
    return (
      frame.method === 'notifications/progress' && params?.progressToken === token && params.message === 'heartbeat'
    )
  }).length
}

async function push(id: number, lease: Record<string, unknown>): Promise<Record<string, unknown>> {
  return call(
    peer,
    id,
    'remote_slow',
    { durationMs: 400 },
    { progressToken: id, [TASK_META_KEY]: { id: `task-${id}`, token: `token-${id}`, timeoutMs: 10_000, ...lease } }
  )
}

describe('the lease of a pushed task', () => {
  it('is refused when its leaseMs is past the timer range (no heartbeat flood); control: a lease in range runs', async () => {
    const flood = await push(2, { leaseMs: 2 ** 40 })
    // Before the fix the task ran, heartbeating every millisecond (hundreds in 400 ms).
    expect(heartbeats(2)).toBeLessThan(10)
    expect(flood.error).toMatchObject({ code: ProtocolErrorCode.InvalidParams })

    const huge = await push(3, { leaseMs: 3_000, timeoutMs: 2 ** 42 })
    expect(huge.error).toMatchObject({ code: ProtocolErrorCode.InvalidParams })

    const ok = await push(4, { leaseMs: 300 })
    expect(ok.result).toMatchObject({ structuredContent: { done: true } })
    expect(heartbeats(4)).toBeGreaterThanOrEqual(1)
    expect(heartbeats(4)).toBeLessThan(10)
  }, 30_000)
})
