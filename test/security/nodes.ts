import { join } from 'node:path'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { createHome, FIXTURES_DIR, type NodeProcess, spawnNode, tcpAddress, waitFor } from '../helpers/index.js'
import { type Attacker, catalogTopic, taskTopic } from './attacker.js'

/**
 * Real node processes for the security specs, driven over MCP (stdio) only.
 * Tasks are read through the node's own tools (task_status, queue_stats), so
 * the specs depend on tool behaviour, not on src/ internals.
 */

export const PROVIDER_MODULE = join(FIXTURES_DIR, 'mesh-provider.mjs')
/** Short lease and advert intervals so lease and catalog effects show within seconds. */
export const FAST = { catalog: { advertIntervalMs: 500, peerTtlMs: 3_000 }, queue: { leaseMs: 2_000 } }

export interface TaskView {
  id: string
  tool: string
  state: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'dead'
  worker?: string
  attempts: number
  result?: CallToolResult
  error?: string
  history: Array<{ worker: string; dispatch: string; outcome?: string; error?: string; finishedAt?: number }>
}

export interface TestNode {
  node: NodeProcess
  peerId: string
  address: string
}

export async function startNode(
  name: string,
  config: Record<string, unknown> = {},
  args: string[] = []
): Promise<TestNode> {
  const home = await createHome({ config: { ...FAST, ...config } })
  const node = await spawnNode({ home: home.dir, args, env: { MESH_TEST_NAME: name } })
  const status = await node.status()
  return { node, peerId: status.peerId, address: tcpAddress(status) }
}

export async function call<T = Record<string, unknown>>(
  node: NodeProcess,
  name: string,
  args: Record<string, unknown> = {}
): Promise<T> {
  const result = (await node.client.callTool({ name, arguments: args })) as CallToolResult
  if (result.isError === true) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`)
  return result.structuredContent as T
}

export async function submit(node: NodeProcess, args: Record<string, unknown>): Promise<TaskView> {
  return (await call<{ task: TaskView }>(node, 'task_submit', args)).task
}

export async function taskStatus(node: NodeProcess, id: string): Promise<TaskView> {
  return (await call<{ task: TaskView }>(node, 'task_status', { id })).task
}

export async function waitTask(
  node: NodeProcess,
  id: string,
  done: (task: TaskView) => boolean,
  timeoutMs = 20_000,
  what = 'task condition'
): Promise<TaskView> {
  return waitFor(
    async () => {
      const task = await taskStatus(node, id)
      return done(task) ? task : undefined
    },
    { timeoutMs, intervalMs: 50, message: `${what} (task ${id})` }
  )
}

/**
 * Connects the attacker to a node and waits until each sees the other on
 * the task and catalog topics, so gossip either way is delivered.
 */
export async function link(attacker: Attacker, target: TestNode): Promise<void> {
  await attacker.dial(target.address)
  await attacker.waitForSubscriber(taskTopic(attacker.mesh), target.peerId)
  await attacker.waitForSubscriber(catalogTopic(attacker.mesh), target.peerId)
}

/** Waits until `node`'s catalog lists `peer` as offering every tool in `tools`. */
export async function waitForCatalog(
  node: NodeProcess,
  peer: string,
  tools: string[],
  timeoutMs = 20_000
): Promise<void> {
  await waitFor(
    async () => {
      const { peers } = await call<{ peers: Array<{ peerId: string; tools: string[] }> }>(node, 'peer_list', {
        withTools: true
      })
      return peers.some((p) => p.peerId === peer && tools.every((t) => p.tools.includes(t)))
    },
    { timeoutMs, message: `${peer} listing ${tools.join(', ')} in the catalog` }
  )
}

/** Text of a result's text blocks plus its structured content, for "does it carry X" checks. */
export function resultBody(result: unknown): string {
  return JSON.stringify(result ?? null)
}
