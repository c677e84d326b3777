import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { NodeProcessStatus } from '../../src/cli/commands/doctor-node.js'
import { DEFAULT_LISTEN, DEFAULT_TCP_PORT, DEFAULT_WS_PORT } from '../../src/config/defaults.js'
import { boundFallbackPorts, fallbackNotice, resolveListenPorts } from '../../src/node/listen-ports.js'
import {
  cleanup,
  isAlive,
  waitFor,
  createTempDir,
  parseJson,
  runCli,
  spawnNode,
  track,
  createHome
} from '../helpers/index.js'

// Fixed listen ports: `init` writes them, a taken one falls back to a random
// port with a clear notice. Tests never rely on the fixed ports being free:
// they occupy a port of their own.
afterEach(cleanup)

/** Listens on 127.0.0.1 on a port the system picks; closed by cleanup. */
async function occupyPort(): Promise<{ port: number; server: Server }> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve))
  track('occupied port', async () => new Promise<void>((resolve) => server.close(() => resolve())))
  return { port: (server.address() as { port: number }).port, server }
}

describe('fixed listen ports', () => {
  it('init writes the fixed TCP and WebSocket ports', async () => {
    const dir = await createTempDir()
    const result = await runCli(['init', '--home', dir])
    expect(result.code, result.stderr).toBe(0)
    const { config } = parseJson<{ config: string }>(result)
    const document = JSON.parse(await readFile(config, 'utf8')) as { addresses: { listen: string[] } }
    expect(document.addresses.listen).toEqual([...DEFAULT_LISTEN])
    expect(DEFAULT_LISTEN).toEqual([`/ip4/0.0.0.0/tcp/${DEFAULT_TCP_PORT}`, `/ip4/0.0.0.0/tcp/${DEFAULT_WS_PORT}/ws`])
  })

  it('keeps a free port and replaces a taken one by port 0', async () => {
    const { port } = await occupyPort()
    const resolved = await resolveListenPorts([
      `/ip4/127.0.0.1/tcp/${port}`,
      `/ip4/127.0.0.1/tcp/${port}/ws`,
      '/ip4/127.0.0.1/tcp/0',
      '/ip4/127.0.0.1/udp/4011/quic-v1'
    ])
    expect(resolved.listen).toEqual([
      '/ip4/127.0.0.1/tcp/0',
      '/ip4/127.0.0.1/tcp/0/ws',
      '/ip4/127.0.0.1/tcp/0',
      '/ip4/127.0.0.1/udp/4011/quic-v1'
    ])
    expect(resolved.fallbacks).toEqual([
      { configured: `/ip4/127.0.0.1/tcp/${port}`, takenPort: port, replacement: '/ip4/127.0.0.1/tcp/0' },
      { configured: `/ip4/127.0.0.1/tcp/${port}/ws`, takenPort: port, replacement: '/ip4/127.0.0.1/tcp/0/ws' }
    ])
    const bound = boundFallbackPorts(
      resolved.fallbacks,
      ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'],
      ['/ip4/127.0.0.1/tcp/41001/p2p/12D3KooWx', '/ip4/127.0.0.1/tcp/41002/ws/p2p/12D3KooWx']
    )
    expect(bound.map((f) => f.port)).toEqual([41001, 41002])
    expect(fallbackNotice(bound[0]!)).toContain(`TCP listen port ${port}`)
    expect(fallbackNotice(bound[0]!)).toContain('listening on port 41001 instead')
    expect(fallbackNotice(bound[1]!)).toContain(`WebSocket listen port ${port}`)
  })

  it('a node whose fixed port is taken starts on another, says so on stderr and in mesh_status', async () => {
    const { port } = await occupyPort()
    const home = await createHome({ config: { addresses: { listen: [`/ip4/127.0.0.1/tcp/${port}`] } } })
    // No --listen flag: the config's fixed port is the one in force.
    const node = await spawnNode({ home: home.dir, loopback: false, args: ['--no-mdns'] })
    const status = await node.status()
    const processStatus = (status as { process?: NodeProcessStatus }).process
    expect(processStatus?.listenFallbacks).toHaveLength(1)
    const fallback = processStatus!.listenFallbacks[0]!
    expect(fallback).toMatchObject({ configured: `/ip4/127.0.0.1/tcp/${port}`, takenPort: port })
    expect(fallback.port).toEqual(expect.any(Number))
    expect(fallback.port).not.toBe(port)
    expect(status.addresses.some((a) => a.startsWith(`/ip4/127.0.0.1/tcp/${fallback.port}`))).toBe(true)
    expect(node.stderr()).toContain(
      `TCP listen port ${port} (/ip4/127.0.0.1/tcp/${port}) is taken by another process; listening on port ${fallback.port} instead`
    )

    // doctor shows it too.
    const doctor = await runCli(['doctor', '--home', home.dir, '--timeout', '1000'])
    expect(doctor.stdout).toContain(`[warn] listen ports: 1 fixed listen port taken by another process`)
    expect(doctor.stdout).toContain(`port ${port} taken, listening on ${fallback.port} instead`)
    expect(doctor.stdout).toMatch(/\[info\] process: runs inside its first client \(pid \d+\)/)
  })

  it("a detached node's fallback notice reaches the client that launched it", async () => {
    const { port } = await occupyPort()
    const home = await createHome({
      config: { addresses: { listen: [`/ip4/127.0.0.1/tcp/${port}`] }, lifecycle: { idleExitMs: 200 } }
    })
    const node = await spawnNode({
      home: home.dir,
      loopback: false,
      args: ['--no-mdns'],
      env: { MCP_MESH_FOREGROUND: undefined }
    })
    const status = await node.status()
    const processStatus = (status as { process?: NodeProcessStatus }).process
    expect(processStatus?.mode).toBe('detached')
    expect(node.stderr()).toContain(`TCP listen port ${port} (/ip4/127.0.0.1/tcp/${port}) is taken by another process`)
    expect(await node.closeStdin()).toEqual({ code: 0, signal: null })
    await waitFor(() => !isAlive(processStatus!.pid), { timeoutMs: 15_000, message: 'the idle node to exit' })
  })

  it('a node whose fixed port is free listens on it', async () => {
    const { port, server } = await occupyPort()
    // Release it just before the node starts (another process could take it meanwhile; unlikely on loopback).
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const home = await createHome({ config: { addresses: { listen: [`/ip4/127.0.0.1/tcp/${port}`] } } })
    const node = await spawnNode({ home: home.dir, loopback: false, args: ['--no-mdns'] })
    const status = await node.status()
    expect((status as { process?: NodeProcessStatus }).process?.listenFallbacks).toEqual([])
    expect(status.addresses.some((a) => a.startsWith(`/ip4/127.0.0.1/tcp/${port}/`))).toBe(true)
    expect(node.stderr()).not.toContain('is taken')
  })
})
