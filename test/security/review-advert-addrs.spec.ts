/**
 * Red-team review: the addresses in a catalog advert are the signer's own
 * claims, and any mesh member can sign adverts with freshly minted keys. A
 * node that hears such an advert through gossip (the signer is not
 * connected), with a tool whose descriptor it does not know, stores the
 * addresses and dials them at once to fetch descriptors. So one gossip
 * message makes every node of the mesh open TCP connections to a host and
 * port of the attacker's choice (here a plain TCP server standing in for an
 * internal service): an SSRF-like amplification (port scans, reflection).
 *
 * OPEN (the fix belongs in src/mesh/catalog/advert-receiver.ts, not the
 * reviewer's to edit): `it.fails` until advertised addresses are no longer
 * dialed on a gossip advert alone; then drop `.fails`.
 */
import { createServer, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, track, waitFor } from '../helpers/index.js'
import { Attacker, advertTool, catalogTopic } from './attacker.js'
import { link, startNode } from './nodes.js'

afterEach(cleanup)

/** A plain TCP server that records who connects (it never speaks libp2p). */
async function victimService(): Promise<{ port: number; hits: () => number }> {
  let hits = 0
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    hits++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  track('victim tcp service', async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const address = server.address()
  return { port: typeof address === 'object' && address != null ? address.port : 0, hits: () => hits }
}

describe('addresses in a gossiped advert', () => {
  it.fails('are not dialed just because a minted peer advertised them', async () => {
    const victim = await victimService()
    const target = await startNode('target')
    // The relay is connected to the target; the minted signer only to the relay.
    const relay = await Attacker.create()
    await link(relay, target)
    const minted = await Attacker.create()
    await minted.dial(relay.libp2p.getMultiaddrs()[0]!.toString())
    await minted.waitForSubscriber(catalogTopic(minted.mesh), relay.peerId)
    await relay.waitForSubscriber(catalogTopic(relay.mesh), minted.peerId)

    expect(victim.hits()).toBe(0)
    await minted.advertise({
      tools: [advertTool('never_seen_tool', { type: 'object', properties: { x: { type: 'string' } } })],
      addrs: [`/ip4/127.0.0.1/tcp/${victim.port}`]
    })
    // Until the target took the advert and any descriptor fetch it started is over.
    await waitFor(
      async () => {
        const catalog = ((await target.node.status()).subsystems.mesh as { catalog: Record<string, number> })
          .catalog as Record<string, number>
        const settled = catalog.descriptorFetches === 0 || (catalog.descriptorFetchErrors ?? 0) > 0
        return victim.hits() > 0 || ((catalog.advertsReceived ?? 0) > 0 && settled) || undefined
      },
      { timeoutMs: 30_000, message: 'the advert handled by the target' }
    )
    expect(victim.hits()).toBe(0)
  }, 60_000)
})
