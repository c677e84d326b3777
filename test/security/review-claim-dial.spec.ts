/**
 * Red-team review: a claim holds one of the worker's peer slots until it is
 * answered, and the claim's 2 s timeout only started once a stream to the
 * owner was open. An owner whose advertised address accepts TCP and then
 * never speaks (any peer can sign adverts and announcements with a minted
 * key) made every claim wait for the full 10 s connect timeout, so a few
 * gossip messages kept every peer slot of every worker reserved and honest
 * owners' pushed tasks were refused as busy. The claim must give its slot
 * back within the claim timeout, dial included. Control: an honest owner's
 * task runs on the worker (first), and again soon after the attack.
 */
import { createServer, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, track } from '../helpers/index.js'
import { Attacker, advertTool, catalogTopic, taskTopic } from './attacker.js'
import { link, PROVIDER_MODULE, startNode, submit, waitForCatalog, waitTask } from './nodes.js'

afterEach(cleanup)

/** Accepts TCP connections and never answers (a dial to it hangs until the dialer gives up). */
async function silentService(): Promise<{ port: number; hits: () => number }> {
  let hits = 0
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    hits++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  track('silent tcp service', async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const address = server.address()
  return { port: typeof address === 'object' && address != null ? address.port : 0, hits: () => hits }
}

describe('claims of announced tasks', () => {
  it('give their peer slot back within the claim timeout when the owner cannot be reached', async () => {
    const silent = await silentService()
    // Two slots, both for peers (no local reserve below 4 slots).
    const worker = await startNode('W', { tools: [PROVIDER_MODULE], queue: { worker: { maxConcurrency: 2 } } })
    const owner = await startNode('H', {}, ['--bootstrap', worker.address])
    await waitForCatalog(owner.node, worker.peerId, ['remote_double'])
    const control = await submit(owner.node, { tool: 'remote_double', args: { n: 1 } })
    expect((await waitTask(owner.node, control.id, (t) => t.state === 'succeeded')).worker).toBe(worker.peerId)

    const relay = await Attacker.create()
    await link(relay, worker)
    const minted = await Attacker.create()
    await minted.dial(relay.libp2p.getMultiaddrs()[0]!.toString())
    for (const topic of [catalogTopic(minted.mesh), taskTopic(minted.mesh)]) {
      await minted.waitForSubscriber(topic, relay.peerId)
      await relay.waitForSubscriber(topic, minted.peerId)
    }
    // The minted owner's only address is the silent service; then it announces two tasks.
    await minted.advertise({
      tools: [advertTool('never_seen_tool', { type: 'object', properties: { y: { type: 'string' } } })],
      addrs: [`/ip4/127.0.0.1/tcp/${silent.port}`]
    })
    await minted.announce([
      { id: 'bait-1', tool: 'remote_double' },
      { id: 'bait-2', tool: 'remote_double' }
    ])

    const started = Date.now()
    const task = await submit(owner.node, { tool: 'remote_double', args: { n: 2 } })
    const done = await waitTask(owner.node, task.id, (t) => t.state === 'succeeded', 20_000)
    expect(done.worker).toBe(worker.peerId)
    // Before the fix: ~10 s (the connect timeout); the claim timeout is 2 s.
    expect(Date.now() - started).toBeLessThan(6_000)
  }, 90_000)
})
