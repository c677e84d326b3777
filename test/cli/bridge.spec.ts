import { connect, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { runBridge } from '../../src/cli/bridge.js'
import { cleanup, createTempDir, track, waitFor } from '../helpers/index.js'

afterEach(cleanup)

type Line = { id?: number; method?: string; result?: Record<string, unknown> }

/** A stand-in for the node's API socket: answers initialize with a marker, echoes other requests' methods. */
async function fakeNode(): Promise<{ path: string; received: Line[] }> {
  const path = join(await createTempDir(), 'api.sock')
  const received: Line[] = []
  const server = createServer((socket) => {
    let tail = ''
    socket.on('data', (chunk) => {
      const lines = (tail + chunk.toString()).split('\n')
      tail = lines.pop() ?? ''
      for (const line of lines) {
        const message = JSON.parse(line) as Line
        received.push(message)
        if (message.id == null) continue
        const result = message.method === 'initialize' ? { fromNode: true } : { echo: message.method }
        socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: message.id, result })}\n`)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  track('fake node', async () => new Promise<void>((resolve) => server.close(() => resolve())))
  return { path, received }
}

function collect(stream: PassThrough): () => Line[] {
  let text = ''
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString()
  })
  return () =>
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Line)
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } }
}

describe('stdio bridge to the node API', () => {
  it('answers initialize before the node is reachable, replays it, and forwards the rest in order', async () => {
    const node = await fakeNode()
    const input = new PassThrough()
    const output = new PassThrough()
    const lines = collect(output)
    const { promise: reachable, resolve: nodeUp } = Promise.withResolvers<Socket>()
    const bridge = runBridge({ input, output, connect: async () => reachable })

    input.write(`${JSON.stringify(INITIALIZE)}\n`)
    const answer = await waitFor(() => lines().find((line) => line.id === 0), {
      message: 'the local initialize answer'
    })
    expect(answer.result).toMatchObject({
      protocolVersion: '2025-06-18',
      serverInfo: { name: 'mcp-mesh' },
      capabilities: { tools: { listChanged: true } }
    })
    // Queued until the node is reachable; the last request arrives split in two chunks.
    input.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`)
    const list = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })
    input.write(list.slice(0, 10))

    const socket = connect(node.path)
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    nodeUp(socket)
    input.write(`${list.slice(10)}\n`)
    const listed = await waitFor(() => lines().find((line) => line.id === 1), { message: 'tools/list answered' })
    expect(listed.result).toEqual({ echo: 'tools/list' })
    expect(node.received.map((m) => m.method)).toEqual(['initialize', 'notifications/initialized', 'tools/list'])
    // The node's own initialize answer never reaches the client.
    expect(lines().filter((line) => line.id === 0)).toHaveLength(1)
    expect(lines().some((line) => line.result?.fromNode === true)).toBe(false)

    input.end()
    expect(await bridge).toBe(0)
  })

  it('exits 1 without forwarding when the node cannot be reached', async () => {
    const input = new PassThrough()
    const output = new PassThrough()
    const lines = collect(output)
    const bridge = runBridge({ input, output, connect: async () => undefined })
    expect(await bridge).toBe(1)
    expect(lines()).toEqual([])
  })
})
