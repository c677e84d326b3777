import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createHome, socketAccepts, spawnNode, startDaemon, waitFor } from '../helpers/index.js'

afterEach(cleanup)

const lockPath = (home: string): string => join(home, 'repo.lock')
const apiPath = (home: string): string => join(home, 'api.sock')

describe('node lifecycle', () => {
  it('stops with exit 0 when its MCP client closes stdin, removing lock and socket', async () => {
    const home = await createHome()
    const node = await spawnNode({ home: home.dir })
    // initialize is answered before the node has started; a tool call waits until it runs.
    await node.status()
    expect(existsSync(lockPath(home.dir))).toBe(true)
    expect((await readFile(lockPath(home.dir), 'utf8')).trim()).toBe(String(node.pid))
    expect(await socketAccepts(apiPath(home.dir))).toBe(true)

    expect(await node.closeStdin()).toEqual({ code: 0, signal: null })
    expect(existsSync(lockPath(home.dir))).toBe(false)
    expect(existsSync(apiPath(home.dir))).toBe(false)
    expect(node.stderr()).toContain('stdin closed')
  })

  it.each(['SIGTERM', 'SIGINT'] as const)('stops cleanly with exit 0 on %s', async (signal) => {
    const home = await createHome()
    const node = await spawnNode({ home: home.dir })
    await node.status()
    expect(await socketAccepts(apiPath(home.dir))).toBe(true)
    expect(await node.kill(signal)).toEqual({ code: 0, signal: null })
    expect(node.stderr()).toContain(`stopping (${signal})`)
    expect(existsSync(lockPath(home.dir))).toBe(false)
    expect(existsSync(apiPath(home.dir))).toBe(false)
  })

  it('stops cleanly with exit 0 on SIGTERM sent while the node is still starting', async () => {
    const home = await createHome()
    // initialize is answered before the libp2p stack is up: signal at once.
    const node = await spawnNode({ home: home.dir })
    expect(await node.kill('SIGTERM')).toEqual({ code: 0, signal: null })
    expect(node.stderr()).not.toContain('Error')
    expect(existsSync(lockPath(home.dir))).toBe(false)
  })

  it('a daemon stops cleanly with exit 0 on SIGTERM', async () => {
    const home = await createHome()
    const daemon = await startDaemon({ home: home.dir })
    // The API socket accepts a moment before the notice reaches our pipe.
    await waitFor(() => daemon.stderr().includes('daemon running'), { message: 'the "daemon running" notice' })
    expect(await daemon.stop('SIGTERM')).toEqual({ code: 0, signal: null })
    expect(existsSync(lockPath(home.dir))).toBe(false)
    expect(existsSync(apiPath(home.dir))).toBe(false)
  })

  it('takes over the lock of a node that was killed', async () => {
    const home = await createHome()
    const crashed = await startDaemon({ home: home.dir })
    expect(await crashed.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' })
    // The dead node left its lock and socket behind.
    expect(existsSync(lockPath(home.dir))).toBe(true)
    const node = await spawnNode({ home: home.dir })
    expect((await node.status()).peerId).toBe(home.peerId)
    expect((await readFile(lockPath(home.dir), 'utf8')).trim()).toBe(String(node.pid))
  })
})

describe('one node per home', () => {
  it('a second start attaches to the running node, which outlives the first client while the second is attached', async () => {
    const home = await createHome()
    const first = await spawnNode({ home: home.dir, clientName: 'client-1' })
    const second = await spawnNode({ home: home.dir, clientName: 'client-2' })
    expect(second.stderr()).toContain(`attached to the running node (pid ${first.pid})`)

    const [statusFirst, statusSecond] = await Promise.all([first.status(), second.status()])
    expect(statusSecond.peerId).toBe(statusFirst.peerId)
    expect(statusSecond.peerId).toBe(home.peerId)
    // Same node: its stdio session plus the attached API session.
    expect(statusSecond.sessions).toBe(2)

    // Client 1 goes away: only its stdin closes (its process is the node).
    first.endStdin()
    await waitFor(async () => (await second.status()).sessions === 1, {
      message: 'the node to notice client 1 left'
    })
    // The node has handled the closed stdin and keeps serving client 2.
    const echo = await second.callOk('echo', { message: 'still here' })
    expect(echo.structuredContent).toEqual({ message: 'still here' })
    expect(await socketAccepts(apiPath(home.dir))).toBe(true)

    // When client 2 leaves too, nobody is attached and the node stops cleanly.
    await second.closeStdin()
    expect(await first.exited).toEqual({ code: 0, signal: null })
    expect(existsSync(lockPath(home.dir))).toBe(false)
  })

  it('start attaches to a running daemon and leaves it running when the client goes', async () => {
    const home = await createHome()
    const daemon = await startDaemon({ home: home.dir })
    const client = await spawnNode({ home: home.dir })
    expect((await client.status()).peerId).toBe(home.peerId)
    expect(await client.closeStdin()).toEqual({ code: 0, signal: null })
    expect(await socketAccepts(daemon.apiPath)).toBe(true)
  })
})
