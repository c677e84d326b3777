import { afterEach, describe, expect, it } from 'vitest'
import type { CatalogChange } from '../../src/mesh/catalog/types.js'
import { waitFor } from '../helpers/index.js'
import { type SimNode, SimNetwork, tool } from './catalog-network.js'

/**
 * Catalog records end to end, with the real Catalog on an in-memory network
 * (catalog-network.ts): publish on change, leave records, a SIGKILLed peer,
 * anti-entropy repair and the newcomer's join sync. Every wait is on an
 * event or a state, bounded; nothing asserts a timing.
 */

let net: SimNetwork
afterEach(async () => {
  await net?.stop()
})

function changeOf(node: SimNode, peer: SimNode, reason: CatalogChange['reason']): CatalogChange | undefined {
  return node.changes.find((change) => change.peer === peer.id && change.reason === reason)
}

async function line(count: number): Promise<SimNode[]> {
  const nodes: SimNode[] = []
  for (let i = 0; i < count; i++) nodes.push(await net.node([tool(`tool${i}`)]))
  for (let i = 1; i < count; i++) net.connect(nodes[i - 1]!.id, nodes[i]!.id)
  return nodes
}

async function everyoneLists(nodes: SimNode[]): Promise<void> {
  for (const node of nodes)
    for (const [i, other] of nodes.entries())
      if (other !== node)
        await waitFor(() => node.listed(other).includes(`tool${i}`), {
          timeoutMs: 10_000,
          message: `${node.id} listing tool${i}`
        })
}

describe('catalog records', () => {
  it('publishes on change: a new tool is listed elsewhere, under a new sequence number, from one record', async () => {
    net = new SimNetwork()
    const [a, b] = await line(2)
    await everyoneLists([a!, b!])
    const before = a!.catalog.ownAdvert()
    const sent = a!.catalog.stats().advertsSent
    a!.registry.set([tool('tool0'), tool('extra')])
    await waitFor(() => b!.listed(a!).includes('extra'), { timeoutMs: 10_000, message: 'extra listed on b' })
    const after = a!.catalog.ownAdvert()
    expect(after.seq).toBeGreaterThan(before.seq)
    expect(after.tools.map((t) => t.name).sort()).toEqual(['extra', 'tool0'])
    expect(a!.catalog.stats().advertsSent).toBe(sent + 1)
    expect(after).not.toHaveProperty('load')
  })

  it('withdraws a cleanly stopped node’s tools at once, also where it was not connected', async () => {
    net = new SimNetwork()
    const nodes = await line(3)
    const [a, , c] = nodes
    await everyoneLists(nodes)
    await c!.catalog.stop()
    await waitFor(() => changeOf(a!, c!, 'left'), { timeoutMs: 10_000, message: 'a hearing c leave' })
    expect(a!.catalog.peer(c!.id)).toBeUndefined()
    expect(a!.catalog.stats().leavesReceived).toBe(1)
  })

  it('drops a SIGKILLed neighbour once its redial fails', async () => {
    net = new SimNetwork()
    const nodes = await line(2)
    const [a, b] = nodes
    await everyoneLists(nodes)
    net.kill(b!)
    await waitFor(() => changeOf(a!, b!, 'disconnected'), { timeoutMs: 15_000, message: 'a dropping b' })
    expect(a!.catalog.peer(b!.id)).toBeUndefined()
    expect(a!.catalog.stats()).toMatchObject({ redials: 1, redialFailures: 1 })
  })

  it('keeps a neighbour whose connection dropped but whose redial succeeds', async () => {
    net = new SimNetwork()
    const nodes = await line(2)
    const [a, b] = nodes
    await everyoneLists(nodes)
    net.disconnect(a!.id, b!.id)
    await waitFor(() => a!.catalog.stats().redials === 1 && net.connected(a!.id, b!.id), {
      timeoutMs: 15_000,
      message: 'a re-dialling b'
    })
    expect(a!.listed(b!)).toEqual(['tool1'])
    expect(changeOf(a!, b!, 'disconnected')).toBeUndefined()
  })

  it('repairs a missed record by anti-entropy', async () => {
    net = new SimNetwork()
    const nodes = await line(3)
    const [a, b, c] = nodes
    await everyoneLists(nodes)
    // c misses every gossip message from now on.
    net.drop = (_from, to) => to === c!.id
    a!.registry.set([tool('tool0'), tool('late')])
    await waitFor(() => b!.listed(a!).includes('late'), { timeoutMs: 10_000, message: 'b listing late' })
    expect(c!.listed(a!)).not.toContain('late')
    const taken = await c!.catalog.syncWith(b!.id)
    expect(taken).toBe(1)
    await waitFor(() => c!.listed(a!).includes('late'), { timeoutMs: 10_000, message: 'c listing late' })
    expect(c!.catalog.stats()).toMatchObject({ syncRepairs: 1, syncRecordsReceived: 1 })
    // Both now hold the same records: the next exchange is one hash each way.
    expect(await c!.catalog.syncWith(b!.id)).toBe(0)
    expect(c!.catalog.stats().syncRepairs).toBe(1)
  })

  it('a newcomer syncs the whole catalog from its one contact, fetching no schema the contact knew', async () => {
    net = new SimNetwork()
    const members = await line(4)
    for (let i = 0; i < members.length; i++)
      for (let j = i + 1; j < members.length; j++) net.connect(members[i]!.id, members[j]!.id)
    await everyoneLists(members)
    const listingsBefore = new Map(members.map((m) => [m.id, m.listings]))
    const newcomer = await net.node([tool('newcomer')])
    // Gossip never reaches the newcomer: all it knows comes from the join sync.
    net.drop = (_from, to) => to === newcomer.id
    net.connect(newcomer.id, members[0]!.id)
    for (const [i, member] of members.entries())
      await waitFor(() => newcomer.listed(member).includes(`tool${i}`), {
        timeoutMs: 10_000,
        message: `newcomer listing tool${i}`
      })
    // One tools/list: the contact's own tools (a node does not cache its own descriptors); the
    // other members' descriptors came with the sync answer.
    expect(newcomer.catalog.stats()).toMatchObject({ descriptorFetches: 1, syncRecordsReceived: 4 })
    expect(members.slice(1).map((m) => m.listings)).toEqual(members.slice(1).map((m) => listingsBefore.get(m.id)))
    // The members hear of the newcomer too (its record went out once it had a listener).
    for (const member of members)
      await waitFor(() => member.listed(newcomer).includes('newcomer'), {
        timeoutMs: 10_000,
        message: 'members listing the newcomer'
      })
  })
})
