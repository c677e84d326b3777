import type { CallToolResult } from '@modelcontextprotocol/server'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, createHome, mergeJson, waitFor } from '../helpers/index.js'
import { FAST_DISCOVERY, type MeshDaemon, meshDaemon, meshLayerPresent } from './harness.js'

afterEach(cleanup)

interface PeerInfo {
  connections: Array<{ relayed: boolean; relay?: string; direction: string; remoteAddr: string }>
}

/**
 * A relay node and a dial-only node behind it: no listen address at all (as
 * behind NAT), the relay as its only bootstrap peer. Join by name is off so
 * the dial-only node never dials the caller on its own (that direct
 * connection would make the relay unnecessary for the check).
 */
async function relayAndHidden(
  extra: Record<string, unknown> = {}
): Promise<{ relay: MeshDaemon; hidden: MeshDaemon; circuit: string }> {
  const relay = await meshDaemon({ args: ['--relay'] })
  const relayAddress = await relay.address()
  const home = await createHome({
    config: mergeJson(FAST_DISCOVERY, {
      addresses: { listen: [] },
      discovery: { meshName: { enabled: false } },
      ...extra
    })
  })
  const hidden = await meshDaemon({ home, loopback: false, args: ['--no-mdns', '--bootstrap', relayAddress] })
  // It reserves a slot on the relay and advertises a /p2p-circuit address.
  const circuit = await waitFor(
    async () => (await hidden.status()).addresses.find((a) => a.includes('/p2p-circuit/')),
    { timeoutMs: 15_000, intervalMs: 50, message: 'a /p2p-circuit address' }
  )
  expect(circuit.startsWith(`${relayAddress}/p2p-circuit/p2p/${hidden.peerId}`)).toBe(true)
  return { relay, hidden, circuit }
}

async function echoThrough(caller: MeshDaemon, peer: string, message: string): Promise<void> {
  const result = (await caller.client.callTool({
    name: 'mesh_call',
    arguments: { peer, tool: 'echo', arguments: { message } }
  })) as CallToolResult
  expect(result.isError).not.toBe(true)
  expect((result.structuredContent as { structuredContent: unknown }).structuredContent).toEqual({ message })
}

describe('circuit relay', () => {
  it('a dial-only node reserves a relay slot, is dialled through it, and upgrades to a direct connection', async () => {
    const { relay, hidden, circuit } = await relayAndHidden()
    const discovery = await hidden.discovery()
    expect(discovery.reachability).toBe('relayed')
    expect(discovery.dht.mode).toBe('client')
    expect(discovery.relay.client.relays).toEqual([relay.peerId])
    await waitFor(async () => (await relay.discovery()).relay.server.reservations === 1, {
      timeoutMs: 5_000,
      message: 'the relay holds one reservation'
    })

    const caller = await meshDaemon()
    const connected = await caller.ok<{ address: string; peer: string; latencyMs?: number }>('peer_connect', {
      address: circuit
    })
    expect(connected.peer).toBe(hidden.peerId)
    expect(connected.address).toBe(circuit)
    expect(connected.latencyMs).toBeTypeOf('number')
    // The dial-only node can dial the caller's (loopback) addresses, so it replaces the relayed
    // connection with a direct one (js-libp2p's DCUtR alone skips private addresses).
    const direct = await waitFor(
      async () =>
        (await caller.ok<PeerInfo>('peer_info', { peer: hidden.peerId, ping: false })).connections.find(
          (c) => !c.relayed
        ),
      { timeoutMs: 40_000, intervalMs: 100, message: 'a direct connection' }
    )
    expect(direct.direction).toBe('inbound')
    // The hidden node dialled the caller (an inbound connection at the caller): its direct
    // upgrade, or DCUtR, which acts on relayed connections now that circuits are limited
    // (relay.limitCircuits), whichever came first. Never more than one upgrade.
    const upgrade = (await hidden.discovery()).directUpgrade
    expect(upgrade.enabled).toBe(true)
    expect(upgrade.upgraded).toBeLessThanOrEqual(1)
    if (meshLayerPresent) {
      // The mesh layer's peer_list carries discovery's connection details (describeConnections).
      const list = await caller.ok<{ peers: Array<{ peerId: string; connections?: unknown[] }> }>('peer_list')
      const entry = list.peers.find((p) => p.peerId === hidden.peerId)
      expect(entry?.connections?.length, JSON.stringify(list)).toBeGreaterThanOrEqual(1)
      await echoThrough(caller, hidden.peerId, 'after the upgrade')
    }
  }, 60_000)

  it.skipIf(!meshLayerPresent)(
    'tool calls reach a dial-only node through the relay (DCUtR and direct upgrade off)',
    async () => {
      const { relay, hidden, circuit } = await relayAndHidden({ nat: { dcutr: false } })
      const caller = await meshDaemon({ config: { nat: { dcutr: false } } })
      const connected = await caller.ok<{ address: string; relayed: boolean }>('peer_connect', { address: circuit })
      expect(connected.address).toBe(circuit)
      await echoThrough(caller, hidden.peerId, 'through the relay')
      const info = await caller.ok<PeerInfo>('peer_info', { peer: hidden.peerId, ping: false })
      expect(info.connections.length).toBeGreaterThanOrEqual(1)
      // Reached through the relay, or - when the dial-only node had already dialled the caller itself (it can
      // dial out, and discovery tops up connections) - over that inbound connection; never a direct dial to it.
      expect(
        info.connections.every((c) => (c.relayed && c.relay === relay.peerId) || c.direction === 'inbound'),
        JSON.stringify(info.connections)
      ).toBe(true)
      if (connected.relayed) expect(info.connections.some((c) => c.relayed && c.relay === relay.peerId)).toBe(true)
    },
    60_000
  )
})
