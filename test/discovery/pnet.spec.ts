import { copyFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createHome, parseJson, resultText, runCli, waitFor } from '../helpers/index.js'
import { FAST_DISCOVERY, meshDaemon, waitConnected } from './harness.js'

afterEach(cleanup)

describe('private mesh (pnet)', () => {
  it('a node with the wrong swarm key cannot connect, one with the right key can', async () => {
    const homeA = await createHome({ config: FAST_DISCOVERY })
    const gen = await runCli(['swarm-key', 'gen', '--home', homeA.dir])
    expect(gen.code).toBe(0)
    const { path, fingerprint } = parseJson<{ path: string; fingerprint: string }>(gen)
    expect(path).toBe(join(homeA.dir, 'swarm.key'))
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const a = await meshDaemon({ home: homeA })
    expect((await a.discovery()).pnet).toMatchObject({ enabled: true, fingerprint })
    const addressA = await a.address()

    // Same key, copied as a user would.
    const homeB = await createHome({ config: FAST_DISCOVERY })
    await copyFile(path, join(homeB.dir, 'swarm.key'))
    const b = await meshDaemon({ home: homeB, args: ['--bootstrap', addressA] })
    await waitConnected(b, [a.peerId])

    // Another key: the handshake fails closed, and it keeps retrying with backoff.
    const homeC = await createHome({ config: FAST_DISCOVERY })
    expect((await runCli(['swarm-key', 'gen', '--home', homeC.dir])).code).toBe(0)
    const c = await meshDaemon({ home: homeC, args: ['--bootstrap', addressA] })
    // No key at all: fails too.
    const d = await meshDaemon({ args: ['--bootstrap', addressA] })
    for (const node of [c, d]) {
      const state = await waitFor(
        async () => {
          const [peer] = (await node.discovery()).bootstrap
          return peer != null && peer.consecutiveFailures >= 1 ? peer : undefined
        },
        { timeoutMs: 15_000, intervalMs: 50, message: 'a failed bootstrap dial' }
      )
      expect(state.lastError).toBeTypeOf('string')
      expect(await node.connectedPeers()).toEqual([])
      const refused = (await node.call('peer_connect', { address: addressA, timeoutMs: 3_000 })) as CallToolResult
      expect(refused.isError).toBe(true)
      expect(resultText(refused)).toMatch(/could not connect to/)
    }
    expect(new Set(await a.connectedPeers())).toEqual(new Set([b.peerId]))
  }, 60_000)
})
