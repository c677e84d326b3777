import { existsSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { NodeProcessStatus } from '../../src/cli/commands/doctor-node.js'
import { UNHANDLED_REJECTION_NOTICE } from '../../src/util/errors.js'
import {
  cleanup,
  commandLine,
  createHome,
  isAlive,
  runCli,
  type NodeProcess,
  spawnNode,
  startDaemon,
  track,
  trackPid,
  untrackPid,
  waitFor
} from '../helpers/index.js'

// The default `start`: the first client launches a detached node for the home
// and bridges to it, like every later client (docs/lifecycle.md).
afterEach(cleanup)

/** spawnNode runs the node in the foreground unless told otherwise. */
const DETACHED = { MCP_MESH_FOREGROUND: undefined }
const IDLE_EXIT_MS = 400

const lockPath = (home: string): string => join(home, 'repo.lock')
const apiPath = (home: string): string => join(home, 'api.sock')

async function lockPid(home: string): Promise<number> {
  return Number.parseInt(await readFile(lockPath(home), 'utf8'), 10)
}

/** The detached node's pid (it holds the lock once it runs); killed by cleanup if a test leaves it. */
async function detachedNodePid(home: string, launcher: NodeProcess): Promise<number> {
  const pid = await waitFor(
    async () => {
      const holder = await lockPid(home)
      // Not the launcher (nor, through the bin's re-exec, its child): the node itself.
      return holder !== launcher.pid && (await commandLine(holder)).includes('--detached-for-home') ? holder : undefined
    },
    { message: 'the detached node to hold the repo lock' }
  )
  trackPid(pid)
  track(`detached node ${pid}`, async () => {
    if (isAlive(pid)) process.kill(pid, 'SIGTERM')
    await waitFor(() => !isAlive(pid), { timeoutMs: 15_000, message: `detached node ${pid} to exit` })
    untrackPid(pid)
  })
  return pid
}

async function detachedHome(idleExitMs = IDLE_EXIT_MS): Promise<Awaited<ReturnType<typeof createHome>>> {
  return createHome({ config: { lifecycle: { idleExitMs } } })
}

/** Calls echo on `client` back to back until `stop()`; resolves with the count (rejects on the first failure). */
function keepCalling(client: NodeProcess): { stop: () => Promise<number> } {
  let stopped = false
  const loop = (async (): Promise<number> => {
    let calls = 0
    while (!stopped) {
      const result = await client.callOk('echo', { message: `call ${calls}` })
      expect(result.structuredContent).toEqual({ message: `call ${calls}` })
      calls++
    }
    return calls
  })()
  return {
    stop: async () => {
      stopped = true
      return loop
    }
  }
}

describe('a node that outlives the client that started it', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'keeps serving an attached client after the first client gets %s, then exits a grace period after the last client leaves',
    async (signal) => {
      const home = await detachedHome()
      const first = await spawnNode({ home: home.dir, env: DETACHED, clientName: 'client-1' })
      expect(first.stderr()).toContain(`started the node for ${home.dir}`)
      // The bridge answered initialize as the node's own front does.
      expect(first.client.getServerVersion()?.name).toBe('mcp-mesh')
      expect(first.client.getServerCapabilities()?.tools?.listChanged).toBe(true)
      expect(first.client.getInstructions()).toContain('mcp-mesh')
      const nodePid = await detachedNodePid(home.dir, first)
      expect(await commandLine(nodePid)).toContain(`daemon --detached-for-home --home ${home.dir}`)
      // The launcher ran the bundle (scripts/bundle.mjs), and the node it started runs it too.
      expect(await commandLine(nodePid)).toContain(join('dist', 'bundle', 'cli', 'main.js'))
      // It inherited the launcher's malloc tuning (bin/mcp-mesh.js).
      if (process.platform === 'linux') {
        expect(readFileSync(`/proc/${nodePid}/environ`, 'utf8')).toContain('GLIBC_TUNABLES=glibc.malloc.')
      }
      // Tool calls wait for the node; initialize did not.
      expect((await first.status()).peerId).toBe(home.peerId)

      const second = await spawnNode({ home: home.dir, env: DETACHED, clientName: 'client-2' })
      expect(second.stderr()).toContain(`attached to the running node (pid ${nodePid})`)
      const [statusFirst, statusSecond] = await Promise.all([first.status(), second.status()])
      expect(statusFirst.peerId).toBe(home.peerId)
      expect(statusSecond.peerId).toBe(home.peerId)
      const processStatus = (statusSecond as { process?: NodeProcessStatus }).process
      expect(processStatus).toMatchObject({ pid: nodePid, mode: 'detached', idleExitMs: IDLE_EXIT_MS })
      // Two bridges on the node's API socket.
      expect(statusSecond.sessions).toBe(2)

      // Client 2 is calling tools while client 1's process is signalled.
      const calls = keepCalling(second)
      const exit = await first.kill(signal)
      expect(exit).toEqual(signal === 'SIGKILL' ? { code: null, signal: 'SIGKILL' } : { code: 0, signal: null })
      await waitFor(async () => (await second.status()).sessions === 1, {
        message: 'the node to notice client 1 left'
      })
      expect(await calls.stop()).toBeGreaterThan(0)
      const echo = await second.callOk('echo', { message: 'still here' })
      expect(echo.structuredContent).toEqual({ message: 'still here' })
      expect(isAlive(nodePid)).toBe(true)

      // The last client leaves: the node exits after the grace period, cleanly.
      expect(await second.closeStdin()).toEqual({ code: 0, signal: null })
      const left = Date.now()
      await waitFor(() => !isAlive(nodePid), { timeoutMs: 15_000, message: 'the idle node to exit' })
      expect(Date.now() - left).toBeGreaterThanOrEqual(IDLE_EXIT_MS - 50)
      expect(existsSync(lockPath(home.dir))).toBe(false)
      expect(existsSync(apiPath(home.dir))).toBe(false)
      const log = await readFile(join(home.dir, 'node.log'), 'utf8')
      expect(log).toContain(`stopping (no client for ${IDLE_EXIT_MS} ms)`)
      expect(log).not.toContain(UNHANDLED_REJECTION_NOTICE)
    }
  )

  it('a client started while the node is idle cancels its exit; the next start after the exit launches a new node', async () => {
    // Long enough for a client to start within it, even on a loaded machine.
    const home = await detachedHome(3_000)
    const first = await spawnNode({ home: home.dir, env: DETACHED })
    const nodePid = await detachedNodePid(home.dir, first)
    await first.status()
    expect(await first.closeStdin()).toEqual({ code: 0, signal: null })
    // Within the grace period a new client attaches to the same node.
    const second = await spawnNode({ home: home.dir, env: DETACHED })
    expect((await second.status()).peerId).toBe(home.peerId)
    expect(await lockPid(home.dir)).toBe(nodePid)
    expect(await second.closeStdin()).toEqual({ code: 0, signal: null })
    await waitFor(() => !isAlive(nodePid), { timeoutMs: 15_000, message: 'the idle node to exit' })

    const third = await spawnNode({ home: home.dir, env: DETACHED })
    const nextPid = await detachedNodePid(home.dir, third)
    expect(nextPid).not.toBe(nodePid)
    expect((await third.status()).peerId).toBe(home.peerId)
  })

  it('works when the bin is started by absolute path with the system node (re-exec to the pinned one)', async () => {
    const home = await detachedHome()
    const plainPath = (process.env.PATH ?? '/usr/bin:/bin')
      .split(delimiter)
      .filter((dir) => !dir.includes('node_modules'))
      .join(delimiter)
    const client = await spawnNode({
      home: home.dir,
      executable: true,
      env: { ...DETACHED, PATH: plainPath, MCP_MESH_REEXEC: undefined }
    })
    const nodePid = await detachedNodePid(home.dir, client)
    const echo = await client.callOk('echo', { message: 'relaunched' })
    expect(echo.structuredContent).toEqual({ message: 'relaunched' })
    expect(await client.closeStdin()).toEqual({ code: 0, signal: null })
    await waitFor(() => !isAlive(nodePid), { timeoutMs: 15_000, message: 'the idle node to exit' })
  })

  it('MCP_MESH_BUNDLE=0 runs the modules tsc wrote, bridge and node alike', async () => {
    const home = await detachedHome(60_000)
    const client = await spawnNode({ home: home.dir, env: { ...DETACHED, MCP_MESH_BUNDLE: '0' } })
    const nodePid = await detachedNodePid(home.dir, client)
    expect(await commandLine(nodePid)).toContain(join('dist', 'src', 'cli', 'main.js'))
    const echo = await client.callOk('echo', { message: 'unbundled' })
    expect(echo.structuredContent).toEqual({ message: 'unbundled' })
  })

  it('mcp-mesh stop stops the detached node and disconnects its clients', async () => {
    const home = await detachedHome(60_000)
    const client = await spawnNode({ home: home.dir, env: DETACHED })
    const nodePid = await detachedNodePid(home.dir, client)
    await client.status()
    const stopped = await runCli(['stop', '--home', home.dir])
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(stopped.stderr).toContain(`stopped the node on ${home.dir} (pid ${nodePid})`)
    expect(isAlive(nodePid)).toBe(false)
    // The bridge ends with the node.
    expect(await client.exited).toEqual({ code: 0, signal: null })
    expect(existsSync(lockPath(home.dir))).toBe(false)
    const again = await runCli(['stop', '--home', home.dir])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('no node is running')
  })

  it('a daemon started by hand reports daemon mode (no idle exit) and serves start clients', async () => {
    const home = await detachedHome()
    const daemon = await startDaemon({ home: home.dir })
    const client = await spawnNode({ home: home.dir, env: DETACHED })
    expect(client.stderr()).toContain(`attached to the running node (pid ${daemon.pid})`)
    const processStatus = ((await client.status()) as { process?: NodeProcessStatus }).process
    expect(processStatus).toMatchObject({ pid: daemon.pid, mode: 'daemon' })
    expect(processStatus?.idleExitMs).toBeUndefined()
    expect(await client.closeStdin()).toEqual({ code: 0, signal: null })
    expect(isAlive(daemon.pid)).toBe(true)
  })
})
