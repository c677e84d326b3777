import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import { MCP_P2P_PROTOCOL } from '../../src/mesh/constants.js'
import { encodeFrame, FrameDecoder } from '../../src/mesh/frame.js'
import { waitFor } from '../helpers/index.js'

export const MAX_FRAME = 16 * 1024 * 1024

export { rawPeer } from '../helpers/index.js'

export interface Watched {
  stream: Stream
  frames: Array<Record<string, unknown>>
  closed: () => boolean
  /** The response with this id, once it arrived. */
  response: (id: number) => Promise<Record<string, unknown>>
  send: (message: Record<string, unknown>) => void
}

/** Opens an `/mcp+p2p` stream and collects every frame the node sends back. */
export async function openStream(peer: Libp2p, address: string): Promise<Watched> {
  const stream = await peer.dialProtocol(multiaddr(address), MCP_P2P_PROTOCOL)
  const decoder = new FrameDecoder(MAX_FRAME)
  const frames: Array<Record<string, unknown>> = []
  let closed = false
  stream.addEventListener('message', (event) => {
    for (const frame of decoder.push(event.data)) frames.push(JSON.parse(new TextDecoder().decode(frame)))
  })
  stream.addEventListener('close', () => {
    closed = true
  })
  return {
    stream,
    frames,
    closed: () => closed,
    response: async (id) =>
      waitFor(() => frames.find((frame) => frame.id === id), { message: `response ${id}`, timeoutMs: 15_000 }),
    send: (message) => {
      stream.send(encodeFrame(JSON.stringify({ jsonrpc: '2.0', ...message }), MAX_FRAME))
    }
  }
}

export const INITIALIZE = {
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-peer', version: '0.1' } }
}

/** An initialized MCP session on a fresh stream. */
export async function session(peer: Libp2p, address: string): Promise<Watched> {
  const watched = await openStream(peer, address)
  watched.send(INITIALIZE)
  await watched.response(1)
  watched.send({ method: 'notifications/initialized' })
  return watched
}

/** Calls `name` with `args` as request `id` and returns the JSON-RPC response. */
export async function call(
  watched: Watched,
  id: number,
  name: string,
  args: Record<string, unknown>,
  meta?: Record<string, unknown>
): Promise<Record<string, unknown>> {
  watched.send({
    id,
    method: 'tools/call',
    params: { name, arguments: args, ...(meta != null ? { _meta: meta } : {}) }
  })
  return watched.response(id)
}

/** The mesh part of a node's mesh_status. */
export interface MeshStatusPart {
  protocol: Record<string, unknown>
  inbound: {
    streams: number
    refusedStreams: number
    partialFrameBytes: number
    violations: Record<string, number>
    denied: number
    busy: number
    rateLimited: number
  }
  trust: {
    inbound: Record<string, { denied: number; busy: number; 'rate-limited': number }>
    outbound: Record<string, number>
  }
}
