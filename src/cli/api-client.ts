import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import type { Client } from '@modelcontextprotocol/client'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { API_SOCKET } from '../config/defaults.js'
import { resultText } from '../mcp/result.js'
import { MAX_TOOL_TIMEOUT_MS } from '../interface/limits.js'
import { VERSION } from '../interface/version.js'
import { NodeNotRunningError, ToolCallFailedError } from './errors.js'

export function apiSocketPath(home: string): string {
  return join(home, API_SOCKET)
}

/** Opens the running node's API socket, or throws NodeNotRunningError. */
export async function openApiSocket(home: string): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect(apiSocketPath(home))
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new NodeNotRunningError(home))
      else reject(err)
    })
  })
}

/** An MCP client connected to the running node through its local API. */
export async function connectApi(home: string): Promise<Client> {
  const socket = await openApiSocket(home)
  // Loaded on use: the SDK client costs ~100 ms of start-up that `start` must not pay.
  const [{ Client }, { StreamClientTransport }] = await Promise.all([
    import('@modelcontextprotocol/client'),
    import('../mcp/stream-transport.js')
  ])
  const client = new Client({ name: 'mcp-mesh-cli', version: VERSION })
  await client.connect(new StreamClientTransport(socket, socket))
  return client
}

export async function withApi<T>(home: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectApi(home)
  try {
    return await fn(client)
  } finally {
    await client.close().catch(() => {})
  }
}

/** Calls a tool and returns its structured output (or text), throwing on a tool error. */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  options: {
    timeoutMs?: number
    onprogress?: (progress: { progress: number; total?: number; message?: string }) => void
  } = {}
): Promise<unknown> {
  const result = (await client.callTool(
    { name, arguments: args },
    { timeout: options.timeoutMs ?? MAX_TOOL_TIMEOUT_MS, onprogress: options.onprogress }
  )) as CallToolResult
  const text = resultText(result)
  if (result.isError === true) throw new ToolCallFailedError(`${name} failed: ${text}`)
  return result.structuredContent ?? text
}
