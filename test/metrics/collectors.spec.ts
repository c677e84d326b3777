import { describe, expect, it } from 'vitest'
import { MAX_TOOL_LABELS, nodeMetrics } from '../../src/metrics/index.js'
import type { MeshStatus } from '../../src/mesh/index.js'
import type { QueueStats, Task } from '../../src/queue/index.js'
import { parsePrometheus, total } from './node-http.js'

function task(partial: Partial<Task>): Task {
  return {
    id: 't',
    tool: 'echo',
    state: 'queued',
    attempts: 0,
    history: [],
    labels: {},
    createdAt: 1000,
    updatedAt: 1000,
    ...partial
  } as Task
}

async function samples(
  metrics: ReturnType<ReturnType<typeof nodeMetrics>>
): Promise<ReturnType<typeof parsePrometheus>['samples']> {
  return parsePrometheus((await metrics.render()).body).samples
}

describe('metrics collectors', () => {
  it('counts attempts, lease expiries, retries and workflow steps from task events, once each', async () => {
    const metrics = nodeMetrics({ libp2p: false })({ sources: {} })
    const first = { attempt: 1, worker: 'w', dispatch: 'push' as const, startedAt: 1000 }
    metrics.tasks.observe(task({ id: 'a', labels: { workflowId: 'wf', stepId: 's' } }))
    metrics.tasks.observe(
      task({ id: 'a', state: 'running', attempts: 1, history: [first], labels: { workflowId: 'wf', stepId: 's' } })
    )
    const lost = { ...first, finishedAt: 1500, outcome: 'lease-lost' as const }
    const second = { attempt: 2, worker: 'w2', dispatch: 'push' as const, startedAt: 1600 }
    metrics.tasks.observe(
      task({
        id: 'a',
        state: 'running',
        attempts: 2,
        history: [lost, second],
        labels: { workflowId: 'wf', stepId: 's' }
      })
    )
    const done = { ...second, finishedAt: 1900, outcome: 'succeeded' as const }
    const final = task({
      id: 'a',
      state: 'succeeded',
      attempts: 2,
      history: [lost, done],
      finishedAt: 3000,
      labels: { workflowId: 'wf', stepId: 's' }
    })
    metrics.tasks.observe(final)
    const s = await samples(metrics)
    expect(total(s, 'mcp_mesh_task_attempts_total', { outcome: 'lease-lost' })).toBe(1)
    expect(total(s, 'mcp_mesh_task_attempts_total', { outcome: 'succeeded' })).toBe(1)
    expect(total(s, 'mcp_mesh_task_lease_expiries_total')).toBe(1)
    expect(total(s, 'mcp_mesh_task_retries_total')).toBe(1)
    expect(total(s, 'mcp_mesh_tasks_finished_total', { state: 'succeeded' })).toBe(1)
    expect(total(s, 'mcp_mesh_workflow_steps_total', { state: 'succeeded' })).toBe(1)
    expect(total(s, 'mcp_mesh_task_duration_seconds_sum', { state: 'succeeded' })).toBe(2)
  })

  it('reads gauges and counters from the sources at scrape time', async () => {
    let calls = 3
    const metrics = nodeMetrics({ libp2p: false })({
      sources: {
        mesh: () =>
          ({
            inbound: {
              calls,
              denied: 1,
              rateLimited: 2,
              busy: 0,
              inFlight: 1,
              queued: 0,
              streams: 2,
              violations: { 'invalid-json': 4 }
            },
            outbound: { pooledStreams: 1, streamsOpened: 1 },
            catalog: { peers: 2, tools: 6, descriptorFetches: 5 }
          }) as unknown as MeshStatus,
        queue: () =>
          ({
            paused: false,
            counts: { queued: 7, running: 1 },
            throughputPerSec: 0,
            meanWaitMs: 1500
          }) as unknown as QueueStats
      }
    })
    let s = await samples(metrics)
    expect(total(s, 'mcp_mesh_peer_inbound_calls_total')).toBe(3)
    expect(total(s, 'mcp_mesh_peer_inbound_rate_limited_total')).toBe(2)
    expect(total(s, 'mcp_mesh_protocol_violations_total', { kind: 'invalid-json' })).toBe(4)
    expect(total(s, 'mcp_mesh_catalog_tools')).toBe(6)
    expect(total(s, 'mcp_mesh_queue_depth')).toBe(7)
    expect(total(s, 'mcp_mesh_tasks', { state: 'running' })).toBe(1)
    expect(total(s, 'mcp_mesh_queue_mean_wait_seconds')).toBe(1.5)
    calls = 10
    s = await samples(metrics)
    expect(total(s, 'mcp_mesh_peer_inbound_calls_total')).toBe(10)
  })

  it('reads each source once per scrape', async () => {
    let reads = 0
    const metrics = nodeMetrics({ libp2p: false })({
      sources: {
        queue: () => {
          reads++
          return { paused: true, counts: { queued: 2 }, throughputPerSec: 0, meanWaitMs: 0 } as unknown as QueueStats
        }
      }
    })
    const s = await samples(metrics)
    expect(total(s, 'mcp_mesh_queue_depth')).toBe(2)
    expect(total(s, 'mcp_mesh_queue_paused')).toBe(1)
    expect(reads).toBe(1)
    await samples(metrics)
    expect(reads).toBe(2)
  })

  it('folds tool names beyond the label limit into _other, and unknown tools into _unknown', async () => {
    const metrics = nodeMetrics({ libp2p: false })({ sources: {} })
    for (let i = 0; i < MAX_TOOL_LABELS + 5; i++) {
      metrics.calls.route({ tool: `tool${i}`, route: 'local', outcome: 'ok', durationMs: 1 })
    }
    metrics.calls.route({ tool: 'random-name', route: 'mesh', outcome: 'error', durationMs: 1, unknown: true })
    const s = await samples(metrics)
    const tools = new Set(
      s.filter((x) => x.name === 'mcp_mesh_tool_call_duration_seconds_count').map((x) => x.labels.tool)
    )
    expect(tools.size).toBe(MAX_TOOL_LABELS + 2)
    expect(total(s, 'mcp_mesh_tool_call_duration_seconds_count', { tool: '_other' })).toBe(5)
    expect(total(s, 'mcp_mesh_tool_call_duration_seconds_count', { tool: '_unknown' })).toBe(1)
    expect(await metrics.calls.toolLatency()).toContainEqual({ tool: 'tool0', route: 'local', calls: 1, meanMs: 1 })
  })

  it('keeps two nodes in one process apart (one registry each)', async () => {
    const one = nodeMetrics({ libp2p: false })({ sources: {} })
    const two = nodeMetrics({ libp2p: false })({ sources: {} })
    one.calls.route({ tool: 'echo', route: 'local', outcome: 'ok', durationMs: 1 })
    expect(total(await samples(one), 'mcp_mesh_tool_call_duration_seconds_count')).toBe(1)
    expect(total(await samples(two), 'mcp_mesh_tool_call_duration_seconds_count')).toBe(0)
  })
})
