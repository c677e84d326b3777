/**
 * `/metrics` of real node processes, driven by the real MCP client: the
 * text parses as the Prometheus exposition format and carries the named
 * series after real calls (tool calls, a task, a mesh call between two nodes).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, createHome, type NodeProcess, REPO_ROOT, spawnNode, tcpAddress, waitFor } from '../helpers/index.js'
import { find, type NodeHttp, nodeHttp, parsePrometheus, rawGet, type Sample, total } from './node-http.js'

const FAST_CATALOG = { catalog: { advertIntervalMs: 500, peerTtlMs: 10_000 } }

let a: NodeProcess
let b: NodeProcess
let httpA: NodeHttp
let peerB: string

async function scrape(http: NodeHttp): Promise<Sample[]> {
  const response = await http.get('/metrics')
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toContain('text/plain')
  return parsePrometheus(await response.text()).samples
}

beforeAll(async () => {
  a = await spawnNode({
    home: (await createHome({ config: { ...FAST_CATALOG, metrics: { port: 0 } } })).dir,
    args: ['--http', '0']
  })
  const statusA = await a.status()
  b = await spawnNode({
    home: (await createHome({ config: FAST_CATALOG })).dir,
    args: ['--bootstrap', tcpAddress(statusA)]
  })
  peerB = (await b.status()).peerId
  httpA = await nodeHttp(a)
  await waitFor(
    async () => ((await a.status()).subsystems.mesh as { catalog?: { peers: number } }).catalog?.peers === 1,
    { message: "B in A's catalog", timeoutMs: 30_000 }
  )
}, 90_000)

afterAll(cleanup)

describe('/metrics', () => {
  it('is refused without the token, and on a non-loopback Host', async () => {
    expect((await fetch(`${httpA.origin}/metrics`)).status).toBe(401)
    expect(
      await rawGet(`${httpA.origin}/metrics`, { authorization: `Bearer ${httpA.token}`, host: 'evil.example' })
    ).toBe(403)
    expect(await rawGet(`${httpA.origin}/metrics`, { authorization: `Bearer ${httpA.token}` })).toBe(200)
  })

  it('parses, and carries libp2p, tool call and operation series after real calls', async () => {
    await a.callOk('echo', { message: 'hi' })
    await a.callOk('echo', { message: 'again' })
    await a.client.callTool({ name: 'sha256', arguments: { text: 1 } }).catch(() => undefined)
    const text = await (await httpA.get('/metrics')).text()
    const { samples, types } = parsePrometheus(text)
    expect(types.get('mcp_mesh_tool_call_duration_seconds')).toBe('histogram')
    expect(types.get('mcp_server_operation_duration_seconds')).toBe('histogram')
    expect(
      total(samples, 'mcp_mesh_tool_call_duration_seconds_count', { tool: 'echo', route: 'local', outcome: 'ok' })
    ).toBeGreaterThanOrEqual(2)
    expect(
      total(samples, 'mcp_server_operation_duration_seconds_count', {
        mcp_method_name: 'tools/call',
        gen_ai_tool_name: 'echo',
        caller: 'local',
        error_type: ''
      })
    ).toBeGreaterThanOrEqual(2)
    expect(samples.some((sample) => sample.name.startsWith('libp2p_'))).toBe(true)
    expect(find(samples, 'mcp_mesh_info', { peer_id: (await a.status()).peerId })).toHaveLength(1)
    for (const name of [
      'mcp_mesh_uptime_seconds',
      'mcp_mesh_peer_inbound_calls_total',
      'mcp_mesh_peer_inbound_denied_total',
      'mcp_mesh_peer_inbound_rate_limited_total',
      'mcp_mesh_peer_inbound_busy_total',
      'mcp_mesh_queue_depth',
      'mcp_mesh_catalog_peers',
      'mcp_mesh_catalog_tools',
      'mcp_mesh_catalog_descriptor_fetches_total',
      'mcp_mesh_workflows_active'
    ]) {
      expect(find(samples, name), name).toHaveLength(1)
    }
  })

  it('counts a mesh call on both sides and a task by state', async () => {
    const result = (await a.client.callTool({
      name: 'echo',
      arguments: { message: 'via b' },
      _meta: { 'mcp-mesh/runtime': 'mesh' }
    })) as CallToolResult
    expect(result.isError).not.toBe(true)
    const submitted = await a.callOk('task_submit', {
      tool: 'echo',
      args: { message: 'task' },
      placement: { local: true }
    })
    expect((submitted.structuredContent as { task: { id: string } }).task.id).toBeDefined()
    await waitFor(
      async () => total(await scrape(httpA), 'mcp_mesh_tasks_finished_total', { state: 'succeeded' }) >= 1,
      {
        message: 'the task finished'
      }
    )
    const samples = await scrape(httpA)
    expect(
      total(samples, 'mcp_mesh_tool_call_duration_seconds_count', { tool: 'echo', route: 'mesh', outcome: 'ok' })
    ).toBeGreaterThanOrEqual(1)
    expect(total(samples, 'mcp_mesh_dispatch_calls_total')).toBeGreaterThanOrEqual(1)
    expect(total(samples, 'mcp_mesh_catalog_peers')).toBeGreaterThanOrEqual(1)
    expect(find(samples, 'mcp_mesh_tasks', { state: 'succeeded' })[0]?.value).toBeGreaterThanOrEqual(1)
    expect(total(samples, 'mcp_mesh_task_attempts_total', { outcome: 'succeeded' })).toBeGreaterThanOrEqual(1)
    expect(find(samples, 'mcp_mesh_task_lease_expiries_total')).toHaveLength(1)
    expect(find(samples, 'mcp_mesh_task_retries_total')).toHaveLength(1)
    // B answered A's call: its inbound counters moved (read over B's own MCP client).
    const statusB = await b.status()
    const mesh = statusB.subsystems.mesh as { inbound: { calls: number } }
    expect(mesh.inbound.calls).toBeGreaterThanOrEqual(1)
    expect(peerB).toBe(statusB.peerId)
  })

  it('has every series the Grafana dashboard queries', async () => {
    const dashboard = await readFile(join(REPO_ROOT, 'docs', 'grafana-dashboard.json'), 'utf8')
    const queried = new Set(
      [...dashboard.matchAll(/\b((?:mcp_mesh|mcp_server|libp2p)_[a-z0-9_]+)/g)].map(([name]) =>
        name!.replace(/_(bucket|count|sum)$/, '')
      )
    )
    const { types } = parsePrometheus(await (await httpA.get('/metrics')).text())
    expect(queried.size).toBeGreaterThan(30)
    for (const name of queried) expect(types.has(name), name).toBe(true)
  })

  it('is served alone on the metrics port, with the same bearer token', async () => {
    const check = (await a.health()).checks.find((c) => c.subsystem === 'observability')
    const metricsUrl = /metrics (http:\/\/127\.0\.0\.1:\d+\/metrics),/.exec(check?.detail ?? '')?.[1]
    expect(metricsUrl).toBeDefined()
    expect((await fetch(metricsUrl!)).status).toBe(401)
    expect((await fetch(metricsUrl!, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
    const response = await fetch(metricsUrl!, { headers: { authorization: `Bearer ${httpA.token}` } })
    expect(response.status).toBe(200)
    const { samples } = parsePrometheus(await response.text())
    expect(total(samples, 'mcp_mesh_tool_call_duration_seconds_count', { tool: 'echo' })).toBeGreaterThanOrEqual(2)
    expect((await fetch(metricsUrl!.replace('/metrics', '/other'))).status).toBe(404)
  })
})
