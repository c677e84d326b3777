import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createHome, mergeJson, waitFor } from '../helpers/index.js'
import { FAST_DISCOVERY, meshDaemon, meshLayerPresent } from './harness.js'

afterEach(cleanup)

describe('circuit relay', () => {
  it('a dial-only node (no listen address) becomes reachable through a relay node', async () => {
    const relay = await meshDaemon({ args: ['--relay'] })
    const relayAddress = await relay.address()
    // Dial-only, as behind NAT: no listen address at all, only the relay as bootstrap.
    // Join by name is off so it does not dial the caller directly (an outbound
    // direct connection would make the relay unnecessary for this check).
    const hiddenHome = await createHome({
      config: mergeJson(FAST_DISCOVERY, { addresses: { listen: [] }, discovery: { meshName: { enabled: false } } })
    })
    const hidden = await meshDaemon({
      home: hiddenHome,
      loopback: false,
      args: ['--no-mdns', '--bootstrap', relayAddress]
    })

    // It reserves a slot on the relay and advertises a /p2p-circuit address.
    const circuit = await waitFor(
      async () => (await hidden.status()).addresses.find((a) => a.includes('/p2p-circuit/')),
      { timeoutMs: 15_000, intervalMs: 50, message: 'a /p2p-circuit address' }
    )
    expect(circuit.startsWith(`${relayAddress}/p2p-circuit/p2p/${hidden.peerId}`)).toBe(true)
    const discovery = await hidden.discovery()
    expect(discovery.reachability).toBe('relayed')
    expect(discovery.dht.mode).toBe('client')
    expect(discovery.relay.client.relays).toEqual([relay.peerId])
    await waitFor(async () => (await relay.discovery()).relay.server.reservations === 1, {
      timeoutMs: 5_000,
      message: 'the relay holds one reservation'
    })

    // A third node reaches it through the relay.
    const caller = await meshDaemon()
    const connected = await caller.ok<{ relayed: boolean; peer: string; latencyMs?: number }>('peer_connect', {
      address: circuit
    })
    expect(connected.peer).toBe(hidden.peerId)
    expect(connected.relayed).toBe(true)
    expect(connected.latencyMs).toBeTypeOf('number')
    const info = await caller.ok<{ connections: Array<{ relayed: boolean; relay?: string }> }>('peer_info', {
      peer: hidden.peerId
    })
    expect(info.connections.some((c) => c.relayed && c.relay === relay.peerId)).toBe(true)

    if (meshLayerPresent) {
      // The mesh layer's peer_list shows the connection as relayed (describeConnections).
      const list = await caller.ok<{ peers: Array<{ peerId: string; connections?: Array<{ relayed: boolean }> }> }>(
        'peer_list'
      )
      const entry = list.peers.find((p) => p.peerId === hidden.peerId)
      expect(entry?.connections?.some((c) => c.relayed)).toBe(true)
      // A tool call on the dial-only node, through the relay.
      const result = (await caller.client.callTool({
        name: 'mesh_call',
        arguments: { peer: hidden.peerId, tool: 'echo', arguments: { message: 'through the relay' } }
      })) as CallToolResult
      expect(result.isError).not.toBe(true)
      expect((result.structuredContent as { structuredContent: unknown }).structuredContent).toEqual({
        message: 'through the relay'
      })
    }
  }, 60_000)
})
