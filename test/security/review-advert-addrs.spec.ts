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
 * Mitigation (src/mesh/catalog/advert-receiver.ts, FirstContactBudget):
 * dialing the advertised addresses of a peer we are not connected to is
 * what makes a newcomer's join fast, and libp2p dials peers' self-reported
 * addresses elsewhere too (identify, the DHT), so it is kept, but within a
 * node-wide budget (8 at once, 8 a minute): a flood of minted records
 * cannot make a node open more than that many connections to a host of the
 * attacker's choice. Beyond the budget the addresses are not used.
 */
import { createServer, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { FIRST_CONTACT_BURST } from '../../src/mesh/constants.js'
import { FirstContactBudget } from '../../src/mesh/catalog/advert-receiver.js'
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

describe('first contacts from gossiped records', () => {
  it('are budgeted: a token bucket of FIRST_CONTACT_BURST, refilled one per interval', () => {
    let now = 0
    const budget = new FirstContactBudget(3, 1_000, () => now)
    expect([budget.take(), budget.take(), budget.take(), budget.take()]).toEqual([true, true, true, false])
    now += 999
    expect(budget.take()).toBe(false)
    now += 1
    expect(budget.take()).toBe(true)
    now += 60_000
    expect([budget.take(), budget.take(), budget.take(), budget.take()]).toEqual([true, true, true, false])
  })

  it('bound how often minted signers make a node dial a host of their choice', async () => {
    const victim = await victimService()
    const target = await startNode('target')
    // The relay is connected to the target; the minted signers only to the relay.
    // Many signers dial the relay within a second: above libp2p's default of 5 per IP.
    const relay = await Attacker.create({ inboundConnectionThreshold: 1_000 })
    await link(relay, target)
    const signers = 3 * FIRST_CONTACT_BURST
    const minted = await Promise.all(Array.from({ length: signers }, async () => Attacker.create()))
    for (const signer of minted) {
      await signer.dial(relay.libp2p.getMultiaddrs()[0]!.toString())
      await signer.waitForSubscriber(catalogTopic(signer.mesh), relay.peerId)
    }
    const catalogOf = async (): Promise<Record<string, number>> =>
      ((await target.node.status()).subsystems.mesh as { catalog: Record<string, number> }).catalog
    const before = (await catalogOf()).advertsReceived ?? 0
    for (const [i, signer] of minted.entries()) {
      await signer.advertise({
        tools: [advertTool(`never_seen_tool_${i}`, { type: 'object', properties: { x: { type: 'string' } } })],
        addrs: [`/ip4/127.0.0.1/tcp/${victim.port}`]
      })
    }
    await waitFor(async () => ((await catalogOf()).advertsReceived ?? 0) - before >= signers || undefined, {
      timeoutMs: 30_000,
      message: 'every minted record handled by the target'
    })
    const catalog = await catalogOf()
    // The budget, plus at most a few refills while the test runs: never one dial per record.
    expect(victim.hits()).toBeLessThanOrEqual(FIRST_CONTACT_BURST + 4)
    expect(catalog.firstContactsDeferred).toBeGreaterThanOrEqual(signers - FIRST_CONTACT_BURST - 4)
  }, 90_000)
})
