import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Connection, MultiaddrConnection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { buildDoctorReport, type DoctorInput, formatDoctorReport } from '../../src/cli/commands/doctor.js'
import { parseConfig } from '../../src/config/load.js'
import { parseDialTarget } from '../../src/discovery/address.js'
import { backoffDelay } from '../../src/discovery/backoff.js'
import type { DiscoveryStatus } from '../../src/discovery/discovery.js'
import {
  computeReachability,
  dhtModeFor,
  generateSwarmKey,
  membershipOf,
  meshNameCid,
  parseSwarmKey,
  readSwarmKey,
  writeSwarmKey
} from '../../src/discovery/index.js'
import { type NodeAddressView, perIpConnectionGater } from '../../src/discovery/internals.js'
import { describeConnection } from '../../src/discovery/peer-details.js'
import { initialDhtClientMode, listenAddresses } from '../../src/node/libp2p-defaults.js'
import { rejectionOf, thrownBy } from '../helpers/index.js'

const PEER = '12D3KooWGVjw4mDtKrvvgBXWqSKdRiThyYBfXcdZDBiMMQRHCPyp'

describe('backoff', () => {
  it('doubles from the initial delay up to the cap, with bounded jitter', () => {
    const init = { initialMs: 1_000, maxMs: 60_000, random: () => 0.5 }
    expect([1, 2, 3, 4, 7, 8, 20].map((n) => backoffDelay(n, init))).toEqual([
      1_000, 2_000, 4_000, 8_000, 60_000, 60_000, 60_000
    ])
    const low = backoffDelay(3, { ...init, random: () => 0 })
    const high = backoffDelay(3, { ...init, random: () => 0.999_999 })
    expect(low).toBe(3_200)
    expect(high).toBeGreaterThan(4_700)
    expect(high).toBeLessThanOrEqual(4_800)
  })
})

describe('reachability and DHT mode', () => {
  const addr = (ma: string, type: NodeAddressView['type'], verified = true): NodeAddressView => ({
    multiaddr: multiaddr(ma),
    type,
    verified,
    expires: 0
  })

  it('classifies addresses and peers as kubo would, on one DHT', () => {
    const loopback = addr('/ip4/127.0.0.1/tcp/4001', 'transport')
    const lan = addr('/ip4/192.168.1.5/tcp/4001', 'transport')
    expect(computeReachability({ addresses: [loopback], wanConnections: 0 })).toBe('lan')
    expect(computeReachability({ addresses: [lan], wanConnections: 2 })).toBe('private')
    const observed = addr('/ip4/8.8.4.4/tcp/4001', 'observed', false)
    expect(computeReachability({ addresses: [lan, observed], wanConnections: 2 })).toBe('private')
    const confirmed = addr('/ip4/8.8.4.4/tcp/4001', 'observed', true)
    expect(computeReachability({ addresses: [lan, confirmed], wanConnections: 2 })).toBe('public')
    const circuit = addr(`/ip4/8.8.4.4/tcp/4001/p2p/${PEER}/p2p-circuit`, 'transport')
    expect(computeReachability({ addresses: [circuit], wanConnections: 1 })).toBe('relayed')
    expect(computeReachability({ addresses: [], wanConnections: 0 })).toBe('unreachable')
    expect(dhtModeFor('public')).toBe('server')
    expect(dhtModeFor('lan')).toBe('server')
    expect(dhtModeFor('private')).toBe('client')
    expect(dhtModeFor('relayed')).toBe('client')
    expect(dhtModeFor('unreachable')).toBe('client')
  })

  it('starts dial-only nodes as DHT clients listening on /p2p-circuit', () => {
    const config = parseConfig({ addresses: { listen: [] } }, 'test')
    expect(listenAddresses(config)).toEqual(['/p2p-circuit'])
    expect(initialDhtClientMode(config)).toBe(true)
    const listening = parseConfig({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] } }, 'test')
    expect(listenAddresses(listening)).toEqual(['/ip4/127.0.0.1/tcp/0'])
    expect(initialDhtClientMode(listening)).toBe(false)
    const always = parseConfig({ relay: { client: 'always' } }, 'test')
    expect(listenAddresses(always)).toContain('/p2p-circuit')
    const off = parseConfig({ addresses: { listen: [] }, relay: { client: 'off' } }, 'test')
    expect(listenAddresses(off)).toEqual([])
    expect(initialDhtClientMode(parseConfig({ discovery: { dht: { mode: 'client' } } }, 'test'))).toBe(true)
  })
})

describe('config', () => {
  it('has discovery defaults: DHT auto, relay client auto, no relay server, UPnP off', () => {
    const config = parseConfig({}, 'test')
    expect(config.discovery.dht).toEqual({ enabled: true, mode: 'auto' })
    expect(config.discovery.mdns.serviceTag).toBe('_mcp-mesh._udp.local')
    expect(config.relay).toMatchObject({ server: false, client: 'auto' })
    expect(config.nat).toEqual({ autonat: true, dcutr: true, upnp: false })
    expect(config.mesh).toEqual({ name: 'default', isolate: false })
    expect(config.connections).toMatchObject({ minConnections: 8, maxConnectionsPerIp: 32, maxParallelDials: 100 })
  })

  it('accepts /ip4, /ip6, /dns4, /dns6 and /dnsaddr bootstrap addresses with /p2p/<id>', () => {
    const bootstrap = [
      `/ip4/10.0.0.1/tcp/4001/p2p/${PEER}`,
      `/ip6/::1/tcp/4001/p2p/${PEER}`,
      `/dns4/node.example.org/tcp/4001/p2p/${PEER}`,
      `/dns6/node.example.org/tcp/4001/p2p/${PEER}`,
      `/dnsaddr/mesh.example.org/p2p/${PEER}`
    ]
    expect(parseConfig({ bootstrap }, 'test').bootstrap).toEqual(bootstrap)
    expect(thrownBy(() => parseConfig({ bootstrap: ['/dnsaddr/mesh.example.org'] }, 'test')).name).toBe('ConfigError')
  })
})

describe('membership', () => {
  it('reads the mesh from the member protocol a peer announces', () => {
    expect(membershipOf([], 'default')).toEqual({ membership: 'unknown' })
    expect(membershipOf(['/ipfs/id/1.0.0', '/mcp-mesh/default/member/1.0.0'], 'default')).toEqual({
      membership: 'member',
      mesh: 'default'
    })
    expect(membershipOf(['/mcp-mesh/other/member/1.0.0'], 'default')).toEqual({ membership: 'foreign', mesh: 'other' })
    expect(membershipOf(['/ipfs/kad/1.0.0', '/mcp-mesh/kad/1.0.0'], 'default')).toEqual({ membership: 'other' })
  })

  it('derives one DHT record per mesh name', async () => {
    const a = await meshNameCid('default')
    expect((await meshNameCid('default')).equals(a)).toBe(true)
    expect((await meshNameCid('other')).equals(a)).toBe(false)
    expect(a.version).toBe(1)
  })
})

describe('swarm key', () => {
  it("writes kubo's format with mode 0600 and reads it back", async () => {
    const home = await mkdtemp(join(tmpdir(), 'mcp-mesh-swarm-'))
    try {
      expect(await readSwarmKey(home)).toBeUndefined()
      const path = await writeSwarmKey(home)
      expect((await stat(path)).mode & 0o777).toBe(0o600)
      const bytes = await readSwarmKey(home)
      expect(new TextDecoder().decode(bytes)).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
      expect((await rejectionOf(writeSwarmKey(home))).name).toBe('SwarmKeyExistsError')
      await writeFile(path, '/key/swarm/psk/1.0.0/\n/base64/\nAAAA\n')
      expect((await rejectionOf(readSwarmKey(home))).name).toBe('InvalidSwarmKeyError')
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })

  it('parses keys with CRLF line ends and rejects short ones', () => {
    const key = generateSwarmKey().replaceAll('\n', '\r\n')
    expect(parseSwarmKey(key)).toHaveLength(32)
    expect(thrownBy(() => parseSwarmKey('/key/swarm/psk/1.0.0/\n/base16/\nabcd\n')).name).toBe('InvalidSwarmKeyError')
  })
})

describe('addresses', () => {
  it('parses multiaddrs and PeerIds, naming the failure', () => {
    expect(parseDialTarget(`/ip4/127.0.0.1/tcp/1/p2p/${PEER}`)).toMatchObject({ kind: 'multiaddr' })
    expect(parseDialTarget(PEER)).toMatchObject({ kind: 'peer' })
    expect(thrownBy(() => parseDialTarget('/ip4/1.2.3/tcp/1')).name).toBe('InvalidPeerAddressError')
    expect(thrownBy(() => parseDialTarget('/ip4/1.2.3.4/tcp/1/p2p/nope')).name).toBe('InvalidPeerAddressError')
    expect(thrownBy(() => parseDialTarget('nope')).name).toBe('InvalidPeerIdError')
  })

  it('limits open inbound connections per remote IP, loopback exempt', () => {
    const conn = (ip: string): Connection =>
      ({ remoteAddr: multiaddr(`/ip4/${ip}/tcp/4001`), limits: undefined }) as unknown as Connection
    const open = [conn('10.0.0.7'), conn('10.0.0.7'), conn('127.0.0.1'), conn('127.0.0.1'), conn('127.0.0.1')]
    const gater = perIpConnectionGater(2, () => open)
    const inbound = (ip: string): MultiaddrConnection =>
      ({ remoteAddr: multiaddr(`/ip4/${ip}/tcp/5555`) }) as unknown as MultiaddrConnection
    expect(gater.denyInboundConnection?.(inbound('10.0.0.7'))).toBe(true)
    expect(gater.denyInboundConnection?.(inbound('10.0.0.8'))).toBe(false)
    expect(gater.denyInboundConnection?.(inbound('127.0.0.1'))).toBe(false)
  })

  it('describes relayed connections with their relay', () => {
    const relay = '12D3KooWNGiR3fp9oqkWLMon5ECf5PN57zNWLuAS7JUStTGxAKDa'
    const connection = {
      id: 'c1',
      remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${relay}/p2p-circuit/p2p/${PEER}`),
      direct: false,
      direction: 'outbound',
      status: 'open',
      limits: { bytes: 1n },
      timeline: { open: 1_000 },
      streams: [{ protocol: '/mcp+p2p/1.0.0', direction: 'outbound' }]
    } as unknown as Connection
    expect(describeConnection(connection, 1_500)).toMatchObject({
      relayed: true,
      relay,
      limited: true,
      ageMs: 500,
      streams: [{ protocol: '/mcp+p2p/1.0.0', direction: 'outbound' }]
    })
  })
})

describe('doctor report', () => {
  const discovery = (overrides: Partial<DiscoveryStatus> = {}): DiscoveryStatus =>
    ({
      mesh: 'default',
      reachability: 'lan',
      autonat: { enabled: true, publicAddresses: [], unverifiedAddresses: [] },
      addresses: {
        listen: ['/ip4/127.0.0.1/tcp/0'],
        announce: [],
        noAnnounce: [],
        advertised: ['/ip4/127.0.0.1/tcp/4001']
      },
      dht: { enabled: true, configuredMode: 'auto', mode: 'server', routingTableSize: 3, modeChanges: 0 },
      relay: {
        server: { enabled: false, reservations: 0 },
        client: { mode: 'auto', listening: false, relays: [], circuitAddresses: [] }
      },
      dcutr: true,
      upnp: false,
      mdns: { enabled: false, serviceTag: '_mcp-mesh._udp.local', discovered: 0 },
      pnet: { enabled: false },
      connections: { peers: 3, total: 3, direct: 3, relayed: 0, inbound: 1, outbound: 2, members: 3 },
      bootstrap: [],
      knownPeers: { enabled: true, stored: 3 },
      meshName: { enabled: true, mesh: 'default', provided: true },
      upkeep: { minConnections: 8, isolate: false, inUsePeers: 0, foreignDisconnected: 0 },
      topics: [{ topic: '/mcp-mesh/default/catalog/1.0.0', subscribed: true, subscribers: 3, meshPeers: 3 }],
      ...overrides
    }) as DiscoveryStatus
  const input = (d: DiscoveryStatus, endToEnd: DoctorInput['endToEnd']): DoctorInput => ({
    status: { peerId: PEER, meshName: 'default', addresses: [], connectedPeers: [], subsystems: { discovery: d } },
    endToEnd
  })

  it('is healthy when connected, routed and answering', () => {
    const report = buildDoctorReport(input(discovery(), { state: 'ok', peer: PEER, latencyMs: 1.5 }))
    expect(report.healthy).toBe(true)
    const text = formatDoctorReport(report)
    expect(text).toContain('[ ok ] end-to-end: mesh_call echo on')
    expect(text.trim().endsWith('healthy')).toBe(true)
  })

  it('fails an isolated node and says when a topic has no peers', () => {
    const isolated = discovery({
      connections: { peers: 0, total: 0, direct: 0, relayed: 0, inbound: 0, outbound: 0, members: 0 },
      dht: { enabled: true, configuredMode: 'auto', mode: 'server', routingTableSize: 0, modeChanges: 0 },
      topics: [{ topic: '/mcp-mesh/default/catalog/1.0.0', subscribed: true, subscribers: 0, meshPeers: 0 }],
      bootstrap: [
        {
          address: `/ip4/10.0.0.1/tcp/4001/p2p/${PEER}`,
          peerId: PEER,
          state: 'backoff',
          attempts: 3,
          consecutiveFailures: 3,
          lastError: 'ECONNREFUSED',
          nextAttemptInMs: 4_000
        }
      ]
    })
    const report = buildDoctorReport(input(isolated, { state: 'no-peer' }))
    expect(report.healthy).toBe(false)
    const text = formatDoctorReport(report)
    expect(text).toContain('[FAIL] peers: isolated: no connected peers')
    expect(text).toContain('NO PEERS: no peer is subscribed to this topic')
    expect(text).toContain('DOWN, 3 failed attempts, next in 4000 ms (last error: ECONNREFUSED)')
    expect(buildDoctorReport(input(discovery(), { state: 'unavailable' })).checks.at(-1)?.summary).toMatch(
      /mesh_call unavailable/
    )
  })
})
