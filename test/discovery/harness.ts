import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { Client } from '@modelcontextprotocol/client'
import type { CallToolResult } from '@modelcontextprotocol/server'
import type { DiscoveryStatus } from '../../src/discovery/discovery.js'
import {
  connectApi,
  createHome,
  type DaemonProcess,
  type MeshStatus,
  mergeJson,
  REPO_ROOT,
  resultText,
  startDaemon,
  type TestHome,
  waitFor
} from '../helpers/index.js'
import type { JsonObject } from '../helpers/home.js'

/**
 * Discovery specs drive real `mcp-mesh daemon` processes on 127.0.0.1
 * through their local API (the MCP client `mcp-mesh call` uses).
 */

/** The mesh layer (issue 3) is built: mesh_call and peer tools in tools/list exist. */
export const meshLayerPresent: boolean = existsSync(join(REPO_ROOT, 'dist', 'src', 'mesh', 'service.js'))

/** Short intervals so specs wait on events, not on production periods. */
export const FAST_DISCOVERY: JsonObject = {
  discovery: {
    bootstrap: { backoffInitialMs: 200, backoffMaxMs: 1_000 },
    meshName: { lookupIntervalMs: 1_000 }
  },
  catalog: { advertIntervalMs: 500, peerTtlMs: 3_000 }
}

export interface MeshDaemon {
  readonly home: TestHome
  readonly daemon: DaemonProcess
  readonly client: Client
  readonly peerId: string
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>
  /** structuredContent of a successful call; fails the test on an error result. */
  ok<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>
  status(): Promise<MeshStatus>
  discovery(): Promise<DiscoveryStatus>
  /** The first loopback TCP address with /p2p/. */
  address(): Promise<string>
  connectedPeers(): Promise<string[]>
  stop(): Promise<void>
}

export interface MeshDaemonOptions {
  home?: TestHome
  config?: JsonObject
  args?: readonly string[]
  env?: Record<string, string | undefined>
  /** Prepend `--no-mdns --listen /ip4/127.0.0.1/tcp/0` (default true). */
  loopback?: boolean
}

export async function meshDaemon(options: MeshDaemonOptions = {}): Promise<MeshDaemon> {
  const home = options.home ?? (await createHome({ config: mergeJson(FAST_DISCOVERY, options.config ?? {}) }))
  const daemon = await startDaemon({ home: home.dir, args: options.args, env: options.env, loopback: options.loopback })
  const client = await connectApi(home.dir)
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> =>
    (await client.callTool({ name, arguments: args })) as CallToolResult
  const ok = async <T>(name: string, args: Record<string, unknown> = {}): Promise<T> => {
    const result = await call(name, args)
    if (result.isError === true) throw new Error(`${name} failed: ${resultText(result)}`)
    return result.structuredContent as T
  }
  const status = async (): Promise<MeshStatus> => ok<MeshStatus>('mesh_status')
  return {
    home,
    daemon,
    client,
    peerId: home.peerId,
    call,
    ok,
    status,
    discovery: async () => (await status()).subsystems.discovery as DiscoveryStatus,
    address: async () => {
      const addresses = (await status()).addresses
      const address = addresses.find((a) => a.startsWith('/ip4/127.0.0.1/tcp/') && !a.includes('/ws'))
      if (address == null) throw new Error(`no loopback TCP address in ${JSON.stringify(addresses)}`)
      return address.includes('/p2p/') ? address : `${address}/p2p/${home.peerId}`
    },
    connectedPeers: async () => (await status()).connectedPeers.map((p) => p.peerId),
    stop: async () => {
      await client.close().catch(() => {})
      await daemon.stop()
    }
  }
}

/** Waits until `node` is connected to every peer in `peers`. */
export async function waitConnected(node: MeshDaemon, peers: readonly string[], timeoutMs = 15_000): Promise<void> {
  await waitFor(
    async () => {
      const connected = new Set(await node.connectedPeers())
      return peers.every((peer) => connected.has(peer))
    },
    { timeoutMs, intervalMs: 50, message: `${node.peerId} connected to ${peers.length} peers` }
  )
}

/** A TCP port that was free a moment ago (for a node that must come back on the same address). */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address != null ? address.port : 0))
    })
  })
}
