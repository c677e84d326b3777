import { stat } from 'node:fs/promises'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  cleanup,
  connectApi,
  createHome,
  type DaemonProcess,
  parseJson,
  runCli,
  startDaemon,
  type TestHome
} from '../helpers/index.js'

describe('CLI through the local API of a running daemon', () => {
  let home: TestHome
  let daemon: DaemonProcess

  beforeAll(async () => {
    home = await createHome()
    daemon = await startDaemon({ home: home.dir })
  })

  afterAll(cleanup)

  it('serves the API on <home>/api.sock with mode 0600', async () => {
    const info = await stat(daemon.apiPath)
    expect(info.isSocket()).toBe(true)
    expect(info.mode & 0o777).toBe(0o600)
  })

  it('id prints the running node’s peerId, addresses and agent version', async () => {
    const result = await runCli(['id', '--home', home.dir])
    expect(result.code, `${result.stderr}\ndaemon:\n${daemon.stderr()}`).toBe(0)
    const id = parseJson<{ peerId: string; addresses: string[]; agentVersion: string }>(result)
    expect(id.peerId).toBe(home.peerId)
    expect(id.addresses.length).toBeGreaterThan(0)
    expect(id.addresses.every((a) => a.startsWith('/ip4/127.0.0.1/tcp/'))).toBe(true)
    expect(id.agentVersion).toMatch(/^mcp-mesh\/\d+\.\d+\.\d+/)
  })

  it('status prints mesh_status', async () => {
    const result = await runCli(['status', '--home', home.dir])
    expect(result.code, `${result.stderr}\ndaemon:\n${daemon.stderr()}`).toBe(0)
    const status = parseJson<{ peerId: string; tools: { total: number } }>(result)
    expect(status.peerId).toBe(home.peerId)
    expect(status.tools.total).toBeGreaterThanOrEqual(5)
  })

  it('tools lists the node’s tools', async () => {
    const result = await runCli(['tools', '--home', home.dir])
    expect(result.code, `${result.stderr}\ndaemon:\n${daemon.stderr()}`).toBe(0)
    const names = parseJson<Array<{ name: string }>>(result).map((t) => t.name)
    expect(names).toEqual(expect.arrayContaining(['echo', 'sha256', 'sleep', 'mesh_status', 'mesh_health']))
  })

  it('call echo prints the structured result', async () => {
    const result = await runCli(['call', 'echo', '--home', home.dir, '--args', '{"message":"x"}'])
    expect(result.code, `${result.stderr}\ndaemon:\n${daemon.stderr()}`).toBe(0)
    expect(parseJson(result)).toEqual({ message: 'x' })
  })

  it('call with invalid JSON arguments is a usage error (exit 2)', async () => {
    const result = await runCli(['call', 'echo', '--home', home.dir, '--args', '{message:'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--args is not valid JSON')
    const notObject = await runCli(['call', 'echo', '--home', home.dir, '--args', '[1]'])
    expect(notObject.code).toBe(2)
    expect(notObject.stderr).toContain('--args must be a JSON object')
  })

  it('call exits 1 with the reason for bad arguments and unknown tools', async () => {
    const bad = await runCli(['call', 'echo', '--home', home.dir, '--args', '{"message":5}'])
    expect(bad.code, `${bad.stderr}\ndaemon:\n${daemon.stderr()}`).toBe(1)
    expect(bad.stderr).toContain('message')
    const unknown = await runCli(['call', 'no_such_tool', '--home', home.dir])
    expect(unknown.code, `${unknown.stderr}\ndaemon:\n${daemon.stderr()}`).toBe(1)
    expect(unknown.stderr).toContain('no_such_tool')
  })

  it('serves several API clients at once, counted as sessions', async () => {
    const a = await connectApi(home.dir)
    const b = await connectApi(home.dir)
    const results = (await Promise.all([
      a.callTool({ name: 'echo', arguments: { message: 'a' } }),
      b.callTool({ name: 'echo', arguments: { message: 'b' } })
    ])) as CallToolResult[]
    expect(results.map((r) => r.structuredContent)).toEqual([{ message: 'a' }, { message: 'b' }])
    const status = (await a.callTool({ name: 'mesh_status', arguments: {} })) as CallToolResult
    expect((status.structuredContent as { sessions: number }).sessions).toBeGreaterThanOrEqual(2)
  })

  it('a second daemon on the same home refuses to start', async () => {
    const result = await runCli(['daemon', '--home', home.dir, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('already running')
    expect(result.stderr).toContain(String(daemon.pid))
  })
})

describe('CLI with no node running', () => {
  afterAll(cleanup)

  it('status exits 1 with "no node is running"', async () => {
    const home = await createHome()
    const result = await runCli(['status', '--home', home.dir])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('no node is running')
    expect(result.stdout).toBe('')
  })

  it('call exits 1 with "no node is running"', async () => {
    const home = await createHome()
    const result = await runCli(['call', 'echo', '--home', home.dir, '--args', '{"message":"x"}'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('no node is running')
  })

  it('id falls back to the home’s peerId', async () => {
    const home = await createHome()
    const result = await runCli(['id', '--home', home.dir])
    expect(result.code, result.stderr).toBe(0)
    expect(parseJson(result)).toEqual({
      peerId: home.peerId,
      addresses: [],
      agentVersion: expect.stringMatching(/^mcp-mesh\//)
    })
    expect(result.stderr).toContain('no node is running')
  })
})
