import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport as StdioClientTransportV1 } from '@modelcontextprotocol/sdk/client/stdio.js'
import { ProtocolError } from '@modelcontextprotocol/client'
import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BIN_PATH,
  cleanup,
  createHome,
  type NodeProcess,
  NODE_BIN,
  REPO_ROOT,
  rejectionOf,
  resultText,
  spawnNode,
  track
} from '../helpers/index.js'

/**
 * Error semantics of every tool family of the node, through a real MCP SDK
 * client over stdio (spec 2025-11-25, SEP-1303): bad arguments and business
 * errors are tool results with `isError: true`; only an unknown tool (or a
 * malformed request) is a JSON-RPC error; an error result never carries
 * `structuredContent` that would fail the tool's `outputSchema`.
 */

const UNKNOWN_PEER = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNxoqDjBDmeW2a9ZCtyVTGt'
const CYCLE = {
  name: 'cycle',
  steps: [
    { id: 'a', tool: 'echo', args: { message: 'a' }, dependsOn: ['b'] },
    { id: 'b', tool: 'echo', args: { message: 'b' }, dependsOn: ['a'] }
  ]
}

let node: NodeProcess
let tools: Map<string, McpTool>

beforeAll(async () => {
  const home = await createHome()
  node = await spawnNode({ home: home.dir })
  tools = new Map((await node.client.listTools()).tools.map((tool) => [tool.name, tool]))
}, 60_000)

afterAll(cleanup)

async function toolError(name: string, args: Record<string, unknown>): Promise<string> {
  expect(tools.has(name), `the node lists ${name}`).toBe(true)
  const result = (await node.client.callTool({ name, arguments: args })) as CallToolResult
  expect(result.isError, `${name} ${JSON.stringify(args)}: ${JSON.stringify(result)}`).toBe(true)
  // An error result never carries structuredContent the outputSchema would reject.
  if (tools.get(name)?.outputSchema != null) expect(result.structuredContent).toBeUndefined()
  return resultText(result)
}

describe('error semantics per tool family (SEP-1303)', () => {
  it('an unknown tool is a JSON-RPC error (-32602)', async () => {
    const err = await rejectionOf<ProtocolError>(node.client.callTool({ name: 'no_such_tool', arguments: {} }))
    expect(err).toBeInstanceOf(ProtocolError)
    expect(err.code).toBe(-32602)
  })

  it('queue: unknown ids, bad arguments and refusals are tool errors', async () => {
    expect(await toolError('task_status', { id: 'nope' })).toMatch(/unknown task "nope"/)
    expect(await toolError('task_cancel', { id: 'nope' })).toMatch(/unknown task/)
    expect(await toolError('task_submit', { tool: 'echo', priority: 11 })).toMatch(/priority/)
    expect(await toolError('queue_clear', { states: ['succeeded'] })).toMatch(/confirm: true/)
    expect(await toolError('task_status', {})).toMatch(/id/)
  })

  it('workflow: a cyclic document, a malformed and an unknown id are tool errors', async () => {
    const cycle = await toolError('workflow_submit', { document: CYCLE })
    expect(cycle).toMatch(/dependency cycle/)
    expect(await toolError('workflow_status', { workflowId: 'nope' })).toMatch(/workflowId/)
    expect(await toolError('workflow_status', { workflowId: 'wf-0000000000000000' })).toMatch(/no workflow/)
    expect(await toolError('workflow_dependencies', { document: CYCLE })).toMatch(/dependency cycle/)
  })

  it('peers and discovery: bad addresses and ids, unknown peers are tool errors', async () => {
    expect(await toolError('peer_connect', { address: 'not-a-multiaddr' })).toMatch(/Invalid arguments/)
    expect(await toolError('peer_info', { peer: 'xyz' })).toMatch(/invalid peer id "xyz"/)
    expect(await toolError('peer_info', { peer: UNKNOWN_PEER })).toMatch(/unknown peer/)
    expect(await toolError('peer_disconnect', { peer: UNKNOWN_PEER })).toMatch(/unknown peer/)
  })

  it('mesh: calls to unknown peers and bad arguments are tool errors', async () => {
    expect(await toolError('mesh_call', { peer: UNKNOWN_PEER, tool: 'echo', timeoutMs: 3_000 })).toMatch(
      new RegExp(UNKNOWN_PEER)
    )
    expect(await toolError('mesh_call', { peer: 'xyz', tool: 'echo' })).toMatch(/xyz/)
    expect(await toolError('peer_tools', { peer: UNKNOWN_PEER })).toMatch(new RegExp(UNKNOWN_PEER))
  })

  it('the node: bad arguments of a builtin tool are tool errors', async () => {
    expect(await toolError('echo', { message: 1 })).toMatch(/message/)
    expect(await toolError('sleep', {})).toMatch(/ms|duration/i)
  })
})

describe('the reference SDK 1.x client', () => {
  it('reads the cycle error of workflow_submit instead of throwing on its structured content', async () => {
    const home = await createHome()
    const client = new ClientV1({ name: 'sdk-1x', version: '1.0.0' })
    const transport = new StdioClientTransportV1({
      command: NODE_BIN,
      args: [BIN_PATH, 'start', '--home', home.dir, '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'],
      cwd: REPO_ROOT,
      stderr: 'ignore'
    })
    track('sdk 1.x client', async () => client.close().catch(() => {}))
    await client.connect(transport)
    await client.listTools()
    const result = await client.callTool({ name: 'workflow_submit', arguments: { document: CYCLE } })
    expect(result.isError).toBe(true)
    expect(JSON.stringify(result.content)).toMatch(/dependency cycle/)
    const unknown = await client.callTool({ name: 'task_status', arguments: { id: 'nope' } })
    expect(unknown.isError).toBe(true)
  }, 60_000)
})
