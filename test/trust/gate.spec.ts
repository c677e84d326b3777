import { describe, expect, it } from 'vitest'
import { TrustGate } from '../../src/trust/index.js'

const tools = new Map<string, { meta: { export: boolean } }>([
  ['echo', { meta: { export: true } }],
  ['sha256', { meta: { export: false } }],
  ['mesh_status', { meta: { export: false } }]
])
const components = { tools: { get: (name: string) => tools.get(name) } }

function gate(
  trust: Partial<ConstructorParameters<typeof TrustGate>[0]['trust']> = {},
  exportTools: string[] = []
): TrustGate {
  return new TrustGate({ export: { tools: exportTools }, trust: { tools: {}, ...trust } }, components)
}

describe('TrustGate', () => {
  it('denies tools that are not exported, by default', () => {
    const g = gate()
    expect(g.mayRun('peerA', 'echo')).toEqual({ allowed: true })
    expect(g.mayRun('peerA', 'mesh_status')).toEqual({
      allowed: false,
      reason: 'tool "mesh_status" is not exported to peers'
    })
    expect(g.mayRun('peerA', 'no-such-tool').allowed).toBe(false)
  })

  it('exports a tool named in config export.tools', () => {
    expect(gate({}, ['sha256']).mayRun('peerA', 'sha256').allowed).toBe(true)
  })

  it('applies trust.allowPeers on every tool and to admission', () => {
    const g = gate({ allowPeers: ['peerA'] })
    expect(g.mayRun('peerA', 'echo').allowed).toBe(true)
    expect(g.mayRun('peerB', 'echo')).toEqual({ allowed: false, reason: 'peer peerB is not in trust.allowPeers' })
    expect(g.admits('peerB').allowed).toBe(false)
    expect(g.admits('peerA').allowed).toBe(true)
  })

  it('applies the per-tool allowlist on top of export', () => {
    const g = gate({ tools: { sha256: ['peerA'] } }, ['sha256'])
    expect(g.mayRun('peerA', 'sha256').allowed).toBe(true)
    expect(g.mayRun('peerB', 'sha256')).toEqual({
      allowed: false,
      reason: 'peer peerB is not allowed to call "sha256"'
    })
    expect(g.mayRun('peerB', 'echo').allowed).toBe(true)
  })

  it('counts refusals per inbound path and kind', () => {
    const g = gate({ allowPeers: ['peerA'] })
    g.checkRun('task-claim', 'peerB', 'echo')
    g.checkRun('call', 'peerA', 'mesh_status')
    g.checkRun('call', 'peerA', 'echo')
    g.checkPeer('gossip-task', 'peerB')
    g.refused('call', 'busy', 'peerA', 'too many calls')
    const stats = g.stats()
    expect(stats.inbound['task-claim'].denied).toBe(1)
    expect(stats.inbound.call).toEqual({ denied: 1, busy: 1, 'rate-limited': 0 })
    expect(stats.inbound['gossip-task'].denied).toBe(1)
  })

  it('limits outbound sends to trust.sendTo when set', () => {
    expect(gate().maySendTo('anyone')).toBe(true)
    const g = gate({ sendTo: ['peerA'] })
    expect(g.checkSend('task', 'peerA')).toBe(true)
    expect(g.checkSend('task', 'peerB')).toBe(false)
    expect(g.checkSend('call', 'peerC')).toBe(false)
    expect(g.stats().outbound).toEqual({ call: 1, task: 1 })
  })
})
