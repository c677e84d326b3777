import type { Client } from '@modelcontextprotocol/client'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { type Command, InvalidArgumentError } from 'commander'
import { configPathFor, resolveHome } from '../../config/load.js'
import type { BootstrapPeerStatus } from '../../discovery/bootstrap-keeper.js'
import type { DiscoveryStatus } from '../../discovery/discovery.js'
import { swarmKeyPath } from '../../discovery/swarm-key.js'
import { exposedWarning, type FilePermissions, filePermissions, formatMode } from '../../identity/permissions.js'
import { httpTokenPath } from '../../mcp/http-token.js'
import { resultText } from '../../mcp/result.js'
import { errorMessage } from '../../util/errors.js'
import { callTool, withApi } from '../api-client.js'
import { printJson } from '../output.js'
import { progressLine } from '../progress.js'
import { type NodeProcessStatus, observabilityUrls, processCheck } from './doctor-node.js'
import { homeOption } from './options.js'

/**
 * `mcp-mesh doctor`: one readable report on a running node's place in its
 * mesh, and an exit code (0 healthy, 1 problems). Everything comes through
 * the local API: `mesh_status` (with `subsystems.discovery`), `peer_info`
 * and an end-to-end `mesh_call` of `echo` on a connected mesh peer.
 */

export type CheckLevel = 'ok' | 'info' | 'warn' | 'fail'

export interface DoctorCheck {
  name: string
  level: CheckLevel
  summary: string
  details: string[]
}

export interface DoctorReport {
  healthy: boolean
  peerId: string
  mesh: string
  checks: DoctorCheck[]
}

export type EndToEnd =
  | { state: 'ok'; peer: string; latencyMs: number }
  | { state: 'failed'; peer: string; error: string; tried: number }
  | { state: 'unavailable' }
  | { state: 'no-peer' }

export interface DoctorInput {
  status: {
    peerId: string
    meshName: string
    addresses: string[]
    connectedPeers: Array<{ peerId: string; addresses: string[] }>
    /** The gate's refusals (absent from nodes older than the gate). */
    trust?: {
      inbound: Record<string, { denied: number; busy: number; 'rate-limited': number }>
      outbound: Record<string, number>
    }
    /** How the node runs and the fixed listen ports it could not have (absent from older nodes). */
    process?: NodeProcessStatus
    subsystems: Record<string, unknown>
  }
  endToEnd: EndToEnd
  /** Modes of the home's secret files, each with what it holds. */
  files?: SecretFile[]
}

export interface SecretFile extends FilePermissions {
  /** What the file holds: `identity key`, `http token`, `swarm key`. */
  holds: string
}

/** The home's secret files and their modes: the config (identity key), `http.token` and `swarm.key`. */
export async function secretFiles(home: string, configPath = configPathFor(home)): Promise<SecretFile[]> {
  const files: Array<[string, string]> = [
    ['identity key', configPath],
    ['http token', httpTokenPath(home)],
    ['swarm key', swarmKeyPath(home)]
  ]
  return Promise.all(files.map(async ([holds, path]) => ({ holds, ...(await filePermissions(path)) })))
}

function secretFilesCheck(files: SecretFile[]): { level: CheckLevel; summary: string; details: string[] } {
  const present = files.filter((file) => file.exists)
  const exposed = present.filter((file) => file.exposed)
  const details = files.map((file) =>
    !file.exists
      ? `${file.holds}: ${file.path}: absent`
      : file.exposed
        ? `${file.holds}: ${exposedWarning(file)}`
        : `${file.holds}: ${file.path}: ${formatMode(file.mode ?? 0)}`
  )
  if (exposed.length > 0) {
    return {
      level: 'warn',
      summary: `${plural(exposed.length, 'secret file')} readable by other users: ${exposed.map((f) => f.holds).join(', ')}`,
      details
    }
  }
  return { level: 'ok', summary: `${plural(present.length, 'secret file')}, owner-only`, details }
}

/** The gate's refusals by path: what peers tried and were refused (denied, busy, rate limited). */
function trustCheck(trust: NonNullable<DoctorInput['status']['trust']>): { summary: string; details: string[] } {
  const details: string[] = []
  let refused = 0
  for (const [path, counts] of Object.entries(trust.inbound)) {
    const total = counts.denied + counts.busy + counts['rate-limited']
    refused += total
    if (total > 0) {
      details.push(`${path}: ${counts.denied} denied, ${counts.busy} busy, ${counts['rate-limited']} rate limited`)
    }
  }
  for (const [path, count] of Object.entries(trust.outbound)) {
    if (count > 0) details.push(`outbound ${path}: ${count} kept from peers outside trust.sendTo`)
  }
  return {
    summary: refused === 0 ? 'no peer request refused' : `${plural(refused, 'peer request')} refused`,
    details
  }
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`
}

function ms(value: number | undefined): string {
  if (value == null) return '?'
  return value >= 10_000 ? `${Math.round(value / 1000)} s` : `${Math.round(value)} ms`
}

function bootstrapLine(peer: BootstrapPeerStatus): string {
  const id = `${peer.address}`
  switch (peer.state) {
    case 'connected':
      return `${id}: connected`
    case 'dialing':
      return `${id}: dialling (attempt ${peer.attempts})`
    case 'backoff':
      return `${id}: DOWN, ${peer.consecutiveFailures} failed attempts, next in ${ms(peer.nextAttemptInMs)}${peer.lastError != null ? ` (last error: ${peer.lastError})` : ''}`
    default:
      return `${id}: ${peer.state}`
  }
}

/** Builds the report from what the node said; pure, so it is unit-tested on its own. */
export function buildDoctorReport(input: DoctorInput): DoctorReport {
  const checks: DoctorCheck[] = []
  const add = (name: string, level: CheckLevel, summary: string, details: string[] = []): void => {
    checks.push({ name, level, summary, details })
  }
  const { status } = input
  const discovery = status.subsystems.discovery as DiscoveryStatus | undefined
  add('node', 'ok', `peer ${status.peerId}, mesh "${status.meshName}"`)
  if (status.process != null) {
    const { summary, details } = processCheck(status.process)
    add('process', 'info', summary, details)
    const fallbacks = status.process.listenFallbacks
    if (fallbacks.length > 0) {
      add(
        'listen ports',
        'warn',
        `${plural(fallbacks.length, 'fixed listen port')} taken by another process: peers given the usual address cannot join`,
        fallbacks.map(
          (f) => `${f.configured}: port ${f.takenPort} taken, listening on ${f.port ?? 'a random port'} instead`
        )
      )
    }
  }
  const urls = observabilityUrls(status)
  if (urls.length > 0) {
    add(
      'endpoints',
      'info',
      urls.map((u) => `${u.name} ${u.url}`).join(', '),
      urls.map((u) => `${u.name}: ${u.url}`)
    )
  }
  if (status.trust != null) {
    const { summary, details } = trustCheck(status.trust)
    add('trust', 'ok', summary, details)
  }

  if (discovery == null || !('reachability' in discovery)) {
    add('discovery', 'fail', 'the node reports no running discovery subsystem')
  } else {
    const d = discovery
    // Reachability (AutoNAT).
    const reachDetails = [
      ...d.autonat.publicAddresses.map((a) => `public (confirmed): ${a}`),
      ...d.autonat.unverifiedAddresses.map((a) => `seen by peers, not confirmed: ${a}`)
    ]
    if (!d.autonat.enabled) reachDetails.push('AutoNAT is off (nat.autonat)')
    switch (d.reachability) {
      case 'public':
        add('reachability', 'ok', 'publicly reachable (AutoNAT confirmed a public address)', reachDetails)
        break
      case 'lan':
        add(
          'reachability',
          'ok',
          'reachable on the LAN/host: every peer is on a private network; no public address confirmed',
          reachDetails
        )
        break
      case 'private':
        add(
          'reachability',
          'warn',
          `not reachable from the WAN (behind NAT or a firewall?); ${d.relay.client.relays.length > 0 ? 'reachable through relays' : 'no relay reservation yet'}`,
          reachDetails
        )
        break
      case 'relayed':
        add('reachability', 'ok', `reachable only through relays (${d.relay.client.relays.length})`, reachDetails)
        break
      default:
        add(
          'reachability',
          'warn',
          'unreachable: no listen address and no relay reservation; this node can call peers but no peer can dial it',
          reachDetails
        )
    }

    // Addresses.
    const addrDetails = [
      ...d.addresses.listen.map((a) => `listen:     ${a}`),
      ...d.addresses.announce.map((a) => `announce:   ${a}`),
      ...d.addresses.noAnnounce.map((a) => `noAnnounce: ${a}`),
      ...d.addresses.advertised.map((a) => `advertised: ${a}`)
    ]
    add(
      'addresses',
      d.addresses.advertised.length === 0 ? 'warn' : 'ok',
      d.addresses.advertised.length === 0
        ? 'no advertised address'
        : `${d.addresses.listen.length} listen, ${d.addresses.announce.length} announce, ${d.addresses.advertised.length} advertised`,
      addrDetails
    )

    // Relay and connections.
    const relayDetails: string[] = []
    if (d.relay.server.enabled)
      relayDetails.push(`relay server: on, ${d.relay.server.reservations} reservations held by peers`)
    else relayDetails.push('relay server: off (--relay)')
    relayDetails.push(
      d.relay.client.relays.length > 0
        ? `relays in use: ${d.relay.client.relays.join(', ')}`
        : `relays in use: none (reservations: ${d.relay.client.mode}${d.relay.client.listening ? ', searching' : ''})`
    )
    if (d.relay.client.lastError != null) relayDetails.push(`relay error: ${d.relay.client.lastError}`)
    relayDetails.push(`DCUtR ${d.dcutr ? 'on' : 'off'}, UPnP ${d.upnp ? 'on' : 'off'}`)
    // Older nodes (before the direct upgrade existed) report no such field.
    const upgrade = d.directUpgrade as DiscoveryStatus['directUpgrade'] | undefined
    if (upgrade?.enabled === true && upgrade.attempted > 0) {
      relayDetails.push(
        `relayed connections upgraded to direct: ${upgrade.upgraded} of ${upgrade.attempted}` +
          (upgrade.lastError != null && upgrade.failed > 0 ? ` (last failure: ${upgrade.lastError})` : '')
      )
    }
    add(
      'relay',
      'info',
      `${d.connections.direct} direct and ${d.connections.relayed} relayed connections`,
      relayDetails
    )

    if (d.connections.peers === 0) {
      add('peers', 'fail', 'isolated: no connected peers')
    } else if (d.connections.members === 0) {
      add('peers', 'warn', `${plural(d.connections.peers, 'peer')} connected, none of them in mesh "${d.mesh}"`)
    } else {
      add(
        'peers',
        'ok',
        `${plural(d.connections.peers, 'peer')} connected, ${d.connections.members} in mesh "${d.mesh}" (${d.connections.inbound} inbound, ${d.connections.outbound} outbound connections)`
      )
    }

    // DHT.
    if (!d.dht.enabled) add('dht', 'info', 'DHT disabled')
    else {
      const summary = `${d.dht.mode} mode (configured ${d.dht.configuredMode}), routing table ${plural(d.dht.routingTableSize, 'peer')}`
      add(
        'dht',
        d.dht.routingTableSize === 0 ? 'fail' : 'ok',
        d.dht.routingTableSize === 0 ? `${summary}: empty, lookups cannot work` : summary
      )
    }
    const meshName = d.meshName
    if (meshName.enabled) {
      const details: string[] = []
      if (meshName.cid != null) details.push(`record ${meshName.cid}`)
      if (meshName.lastLookup != null) {
        details.push(
          `last lookup: ${meshName.lastLookup.providers.length} members found, ${meshName.lastLookup.connected.length} newly connected`
        )
      }
      if (meshName.lastLookupError != null) details.push(`last lookup error: ${meshName.lastLookupError}`)
      if (meshName.lastProvideError != null) details.push(`last provide error: ${meshName.lastProvideError}`)
      add(
        'join by name',
        meshName.provided ? 'ok' : 'info',
        meshName.provided ? `provided mesh "${meshName.mesh}" in the DHT` : `mesh "${meshName.mesh}" not provided yet`,
        details
      )
    }

    // Gossipsub topics.
    for (const topic of d.topics) {
      if (!topic.subscribed) {
        add(`topic ${topic.topic}`, 'info', 'not subscribed on this node (nothing uses it yet)')
      } else if (topic.subscribers === 0) {
        add(`topic ${topic.topic}`, 'warn', 'NO PEERS: no peer is subscribed to this topic')
      } else {
        add(
          `topic ${topic.topic}`,
          'ok',
          `${plural(topic.subscribers, 'peer')} subscribed, ${topic.meshPeers} in the gossip mesh`
        )
      }
    }

    // Bootstrap.
    if (d.bootstrap.length === 0) {
      add('bootstrap', 'info', 'no bootstrap peers configured (joins through mDNS, known peers or the mesh name)')
    } else {
      const up = d.bootstrap.filter((b) => b.state === 'connected').length
      const level: CheckLevel =
        up === d.bootstrap.length ? 'ok' : up === 0 && d.connections.peers === 0 ? 'fail' : 'warn'
      add('bootstrap', level, `${up}/${d.bootstrap.length} bootstrap peers connected`, d.bootstrap.map(bootstrapLine))
    }
    add(
      'known peers',
      'info',
      `${plural(d.knownPeers.stored, 'mesh peer')} remembered in the peer store${d.knownPeers.lastRedial != null ? `; last re-dial connected ${d.knownPeers.lastRedial.connected}/${d.knownPeers.lastRedial.attempted}` : ''}`
    )
    add(
      'private mesh',
      'info',
      d.pnet.enabled ? `on (swarm key fingerprint ${d.pnet.fingerprint ?? '?'})` : 'off (no swarm.key)'
    )
    add('mdns', 'info', d.mdns.enabled ? `on (${d.mdns.serviceTag}), ${d.mdns.discovered} peers seen` : 'off')
  }

  if (input.files != null) {
    const files = secretFilesCheck(input.files)
    add('secret files', files.level, files.summary, files.details)
  }

  // End to end.
  const e2e = input.endToEnd
  switch (e2e.state) {
    case 'ok':
      add('end-to-end', 'ok', `mesh_call echo on ${e2e.peer} answered in ${e2e.latencyMs} ms`)
      break
    case 'failed':
      add('end-to-end', 'fail', `mesh_call echo failed on ${e2e.tried} peers; last: ${e2e.peer}: ${e2e.error}`)
      break
    case 'unavailable':
      add('end-to-end', 'warn', 'mesh_call unavailable: this node has no mesh_call tool, no end-to-end test was made')
      break
    default:
      add('end-to-end', 'warn', 'skipped: no connected mesh peer to call')
  }

  return {
    healthy: checks.every((check) => check.level !== 'fail'),
    peerId: status.peerId,
    mesh: status.meshName,
    checks
  }
}

const MARK: Record<CheckLevel, string> = { ok: '[ ok ]', info: '[info]', warn: '[warn]', fail: '[FAIL]' }

export function formatDoctorReport(report: DoctorReport): string {
  const lines = [`mcp-mesh doctor: peer ${report.peerId}, mesh "${report.mesh}"`, '']
  for (const check of report.checks) {
    lines.push(`${MARK[check.level]} ${check.name}: ${check.summary}`)
    for (const detail of check.details) lines.push(`         ${detail}`)
  }
  const problems = report.checks.filter((c) => c.level === 'fail').length
  const warnings = report.checks.filter((c) => c.level === 'warn').length
  lines.push('')
  lines.push(
    report.healthy
      ? `healthy${warnings > 0 ? ` (${warnings} warnings)` : ''}`
      : `${problems} problem${problems === 1 ? '' : 's'}${warnings > 0 ? `, ${warnings} warnings` : ''}`
  )
  return `${lines.join('\n')}\n`
}

interface PeerInfoLite {
  membership?: string
}

/** Calls `echo` through `mesh_call` on up to `maxPeers` connected peers, members first. */
export async function endToEnd(
  client: Client,
  connected: Array<{ peerId: string }>,
  options: { timeoutMs: number; maxPeers?: number; onStep?: (text: string) => void }
): Promise<EndToEnd> {
  const tools = new Set((await client.listTools()).tools.map((tool) => tool.name))
  if (!tools.has('mesh_call')) return { state: 'unavailable' }
  const members: string[] = []
  options.onStep?.('finding mesh members among connected peers')
  for (const { peerId } of connected.slice(0, 32)) {
    if (!tools.has('peer_info')) {
      members.push(peerId)
      continue
    }
    const info = (await callTool(client, 'peer_info', { peer: peerId, ping: false }).catch(() => undefined)) as
      | PeerInfoLite
      | undefined
    if (info?.membership === 'member') members.push(peerId)
  }
  if (members.length === 0) return { state: 'no-peer' }
  let last: EndToEnd = { state: 'no-peer' }
  let tried = 0
  for (const peer of members.slice(0, options.maxPeers ?? 3)) {
    tried++
    options.onStep?.(`end-to-end call: echo on ${peer}`)
    const message = `doctor ${Date.now()}`
    try {
      const result = (await client.callTool(
        { name: 'mesh_call', arguments: { peer, tool: 'echo', arguments: { message }, timeoutMs: options.timeoutMs } },
        { timeout: options.timeoutMs + 2_000 }
      )) as CallToolResult
      const output = result.structuredContent as
        | { isError?: boolean; latencyMs?: number; structuredContent?: { message?: string } }
        | undefined
      const text = resultText(result).replaceAll('\n', ' ')
      if (result.isError === true || output?.isError === true) {
        last = { state: 'failed', peer, error: text.slice(0, 300) || 'error result', tried }
        continue
      }
      if (output?.structuredContent?.message !== message) {
        last = { state: 'failed', peer, error: `echo answered ${JSON.stringify(output?.structuredContent)}`, tried }
        continue
      }
      return { state: 'ok', peer, latencyMs: output.latencyMs ?? 0 }
    } catch (err) {
      last = { state: 'failed', peer, error: errorMessage(err), tried }
    }
  }
  return last
}

export async function runDoctor(home: string, options: { timeoutMs: number }): Promise<DoctorReport> {
  // On a terminal: which step the doctor is at (silent otherwise).
  const progress = progressLine('doctor: connecting to the node')
  try {
    return await withApi(home, async (client) => {
      progress.update("doctor: reading the node's status")
      const status = (await callTool(client, 'mesh_status', {})) as DoctorInput['status']
      const e2e = await endToEnd(client, status.connectedPeers, {
        timeoutMs: options.timeoutMs,
        onStep: (text) => progress.update(`doctor: ${text}`)
      }).catch((err: unknown): EndToEnd => ({ state: 'failed', peer: '-', error: errorMessage(err), tried: 0 }))
      progress.update('doctor: checking the secret files')
      return buildDoctorReport({ status, endToEnd: e2e, files: await secretFiles(home) })
    })
  } finally {
    progress.done()
  }
}

export function registerDoctorCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('doctor')
    .description(
      'diagnose the running node: reachability, addresses, relays, DHT, topics, bootstrap, secret file modes, an end-to-end call (exit 0 healthy, 1 problems)'
    )
    .addOption(homeOption())
    .option('--json', 'print the report as JSON')
    .option(
      '--timeout <ms>',
      'timeout of the end-to-end call',
      (value) => {
        const n = Number(value)
        if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer')
        return n
      },
      5_000
    )
    .action(async (opts: { home?: string; json?: boolean; timeout: number }) => {
      const report = await runDoctor(resolveHome(opts.home), { timeoutMs: opts.timeout })
      if (opts.json === true) printJson(report)
      else process.stdout.write(formatDoctorReport(report))
      setExit(report.healthy ? 0 : 1)
    })
}
