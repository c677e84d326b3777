/**
 * Red-team review: the direct upgrade dials the listen addresses a peer
 * reached through a relay claims in identify. Peer IDs are free, so through
 * one relay an attacker could have this node dial, at once, as many peers'
 * worth of addresses of its choice as it opened relayed connections (each
 * with as many addresses as identify carries): an SSRF-like amplification.
 * Upgrades are now bounded node-wide (a few at once), and each dials at most
 * MAX_DIRECT_UPGRADE_ADDRS addresses. Control: one relayed peer is still upgraded
 * with its addresses.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { DirectUpgrade } from '../../src/discovery/direct-upgrade.js'
import { MAX_DIRECT_UPGRADE_ADDRS, MAX_DIRECT_UPGRADES } from '../../src/discovery/constants.js'

const RELAY = '12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'

/** A libp2p stand-in: identify events in, dials recorded (they hang until aborted). */
class FakeLibp2p extends EventTarget {
  readonly dials: Multiaddr[][] = []
  getConnections(): [] {
    return []
  }
  async dial(addrs: Multiaddr[], options: { signal: AbortSignal }): Promise<never> {
    this.dials.push(addrs)
    return new Promise<never>((_, reject) => {
      options.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })
    })
  }
}

async function mintedPeer(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

function identify(libp2p: FakeLibp2p, peerId: PeerId, addrs: number): void {
  const listenAddrs = Array.from({ length: addrs }, (_, i) => multiaddr(`/ip4/10.0.${i >> 8}.${i & 255}/tcp/22`))
  const connection = {
    remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${peerId.toString()}`),
    remotePeer: peerId,
    direction: 'inbound'
  }
  libp2p.dispatchEvent(new CustomEvent('peer:identify', { detail: { peerId, listenAddrs, connection, protocols: [] } }))
}

describe('the direct upgrade of relayed connections', () => {
  it('dials a bounded number of peers and addresses at once, whatever relayed peers claim', async () => {
    const libp2p = new FakeLibp2p()
    const upgrade = new DirectUpgrade(libp2p as never, { enabled: true, dialTimeoutMs: 60_000 })
    upgrade.start()
    try {
      // Control: one relayed peer is upgraded with its addresses.
      identify(libp2p, await mintedPeer(), 3)
      expect(libp2p.dials).toHaveLength(1)
      expect(libp2p.dials[0]).toHaveLength(3)
      // The attack: 50 minted peers through the relay, 200 claimed addresses each.
      for (let i = 0; i < 50; i++) identify(libp2p, await mintedPeer(), 200)
      expect(libp2p.dials.length).toBeLessThanOrEqual(MAX_DIRECT_UPGRADES)
      expect(Math.max(...libp2p.dials.map((addrs) => addrs.length))).toBeLessThanOrEqual(MAX_DIRECT_UPGRADE_ADDRS)
    } finally {
      upgrade.stop()
    }
  })
})
