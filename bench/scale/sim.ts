/**
 * Catalog simulation at N = 100, 1,000, 10,000 (BENCH_SIM_SIZES), in one
 * process, no libp2p, on a virtual clock. It runs the real catalog code
 * (AdvertReceiver: validation, expiry, replay memory; RecordStore; PeerTable;
 * DescriptorStore; SyncCore: digests, records, descriptors, real ed25519
 * signatures in gossipsub's StrictSign format) and models only the network:
 * - gossip: each published record reaches every node, in ceil(log_D N) hops
 *   of HOP_MS, as D copies (gossipsub mesh degree 6); fastMsgIdFn means one
 *   signature check per unique record; each node misses a record with
 *   probability LOSS (then anti-entropy must repair it);
 * - anti-entropy: each node, every antiEntropyIntervalMs(N) ± 20 %, runs the
 *   real four-message exchange with one random neighbour.
 * Full state is kept for S sampled nodes ("observers"; all nodes up to 100)
 * and one "rest of the mesh" node that holds every record; observers
 * exchange with it (at large N almost every neighbour is a non-observer).
 * Costs are per observer, per second of virtual time: gossip messages in,
 * sync messages in+out, sync bytes, signature checks (gossip + sync).
 *
 * Run: npm run build && node_modules/.bin/node dist/bench/scale/sim.js
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import type { Tool as McpTool } from '@modelcontextprotocol/server'
import { ADVERT_VERSION, type CatalogAdvert, encodeAdvert, schemaHash } from '../../src/mesh/advert.js'
import { AdvertReceiver } from '../../src/mesh/catalog/advert-receiver.js'
import { DEFAULT_RECORD_REFRESH_MS, DEFAULT_RECORD_TTL_MS, recordTiming } from '../../src/mesh/catalog/constants.js'
import { DescriptorStore } from '../../src/mesh/catalog/descriptors.js'
import { PeerTable } from '../../src/mesh/catalog/peers.js'
import { fromWire, RecordStore, type SignedMessage, signAsGossip } from '../../src/mesh/catalog/records.js'
import { antiEntropyIntervalMs } from '../../src/mesh/catalog/sync.js'
import { SyncCore } from '../../src/mesh/catalog/sync-core.js'
import { emptyStats } from '../../src/mesh/catalog/types.js'
import { catalogTopic } from '../../src/mesh/topics.js'
import { TrustGate } from '../../src/trust/index.js'

const SIZES = (process.env.BENCH_SIM_SIZES ?? '100,1000,10000').split(',').map(Number)
const MAX_OBSERVERS = Number(process.env.BENCH_SIM_OBSERVERS ?? 100)
const LOSS = Number(process.env.BENCH_SIM_LOSS ?? 0.01)
const D = 6
const HOP_MS = Number(process.env.BENCH_SIM_HOP_MS ?? 20)
/** Refresh intervals of virtual idle time (default 2). */
const REFRESHES = Number(process.env.BENCH_SIM_REFRESHES ?? 2)
const MESH = 'sim'
const TOPIC = catalogTopic(MESH)
const INPUT = { type: 'object', properties: { text: { type: 'string' } } }
const DESCRIPTOR: McpTool = { name: 'shared_tool', inputSchema: INPUT as McpTool['inputSchema'] }
const HASH = schemaHash(INPUT, undefined)

let clock = 1_800_000_000_000
const now = (): number => clock

interface Author {
  key: PrivateKey
  id: string
  seq: number
  gossipSeq: bigint
  tools: string[]
}

interface Cost {
  gossipIn: number
  syncMessages: number
  syncBytes: number
  sigChecks: number
  descriptorFetches: number
}

const zero = (): Cost => ({ gossipIn: 0, syncMessages: 0, syncBytes: 0, sigChecks: 0, descriptorFetches: 0 })

class SimNode {
  readonly id: string
  readonly stats = emptyStats()
  readonly records = new RecordStore()
  readonly peers: PeerTable
  readonly receiver: AdvertReceiver
  readonly core: SyncCore
  cost = zero()

  constructor(id: string) {
    this.id = id
    this.peers = new PeerTable(DEFAULT_RECORD_TTL_MS, () => {})
    const gate = new TrustGate({ export: { tools: [] }, trust: { tools: {} } }, { tools: { get: () => undefined } })
    const descriptors = new DescriptorStore({
      peers: this.peers,
      stats: this.stats,
      listTools: async () => {
        this.cost.descriptorFetches++
        return [DESCRIPTOR]
      },
      changed: () => {},
      running: () => true
    })
    this.receiver = new AdvertReceiver({
      self: id,
      meshName: MESH,
      topic: TOPIC,
      peers: this.peers,
      descriptors,
      stats: this.stats,
      changed: () => {},
      storeAddrs: async () => {},
      gate,
      advertIntervalMs: 5_000,
      records: this.records,
      now
    })
    this.core = new SyncCore({
      topic: TOPIC,
      records: this.records,
      accept: (from, message) => this.receiver.accept(peerIdFromString(from), message) === TopicValidatorResult.Accept,
      descriptors,
      stats: this.stats,
      verify: async (wire, topic) => {
        this.cost.sigChecks++
        return fromWire(wire, topic)
      },
      toolsOf: (peer) =>
        [...(this.peers.get(peer)?.tools.values() ?? [])].map((tool) => ({
          ...tool.advert,
          descriptor: tool.descriptor
        })),
      now
    })
  }

  /** A gossiped record arrives (D copies; gossipsub checks the signature of the first). */
  gossip(message: SignedMessage): void {
    this.cost.gossipIn += D
    this.cost.sigChecks++
    if (this.receiver.validate(message.from, message) === TopicValidatorResult.Accept) this.receiver.receive(message)
  }
}

/** The real four-message exchange between `a` (asking) and `b`; costs charged to observers. */
async function exchange(a: SimNode, b: SimNode): Promise<number> {
  const charge = (node: SimNode, value: unknown): void => {
    node.cost.syncMessages++
    node.cost.syncBytes += JSON.stringify(value).length
  }
  const hello = a.core.hello()
  charge(a, hello)
  charge(b, hello)
  const answer = b.core.answerHello(hello)
  charge(a, answer)
  charge(b, answer)
  const ex = a.core.exchange(answer)
  if (ex == null) return 0
  charge(a, ex)
  charge(b, ex)
  const records = await b.core.answerExchange(a.id, ex)
  charge(a, records)
  charge(b, records)
  return a.core.finish(b.id, records)
}

async function newAuthor(): Promise<Author> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString(), seq: 0, gossipSeq: 0n, tools: ['shared_tool'] }
}

async function sign(author: Author, n: number, extra: Partial<CatalogAdvert> = {}): Promise<SignedMessage> {
  const { ttlMs } = recordTiming(DEFAULT_RECORD_REFRESH_MS, DEFAULT_RECORD_TTL_MS, n)
  author.seq = Math.max(author.seq + 1, clock)
  const advert: CatalogAdvert = {
    v: ADVERT_VERSION,
    mesh: MESH,
    peerId: author.id,
    seq: author.seq,
    ts: clock,
    exp: clock + ttlMs,
    capacity: { maxConcurrency: 8 },
    worker: { accepting: true, maxConcurrency: 8, tags: [] },
    tools: author.tools.map((name) => ({
      name,
      schemaHash: HASH,
      tags: [],
      category: 'general',
      priority: 5,
      timeoutMs: 30_000
    })),
    addrs: ['/ip4/10.0.0.1/tcp/4001'],
    ...extra
  }
  return signAsGossip(author.key, TOPIC, encodeAdvert(advert), ++author.gossipSeq)
}

interface Event {
  at: number
  run: () => Promise<void>
}

async function simulate(n: number): Promise<Record<string, unknown>> {
  const started = performance.now()
  const authors: Author[] = []
  for (let i = 0; i < n; i++) authors.push(await newAuthor())
  const observers = authors.slice(0, Math.min(n, MAX_OBSERVERS)).map((a) => new SimNode(a.id))
  const rest = new SimNode((await newAuthor()).id)
  const all = [...observers, rest]
  const { refreshMs } = recordTiming(DEFAULT_RECORD_REFRESH_MS, DEFAULT_RECORD_TTL_MS, n)
  const aeMs = antiEntropyIntervalMs(n)
  const hopsMs = Math.ceil(Math.log(n) / Math.log(D)) * HOP_MS
  // Formation: every record, signed at a random time within the last refresh interval, is held everywhere.
  const start = clock
  for (const author of authors) {
    clock = start - Math.floor(Math.random() * refreshMs)
    const message = await sign(author, n)
    for (const node of all) node.receiver.accept(message.from, message)
  }
  clock = start
  for (const node of all) node.cost = zero()

  // Idle: refreshes (each author once per refresh interval) and anti-entropy, for two refresh intervals.
  const queue: Event[] = []
  const push = (event: Event): void => {
    queue.push(event)
  }
  for (const author of authors) {
    const due = Math.max(start, author.seq + refreshMs)
    for (let t = due; t < start + REFRESHES * refreshMs; t += refreshMs) {
      push({
        at: t,
        run: async () => {
          const message = await sign(author, n)
          rest.receiver.accept(message.from, message)
          for (const node of observers) {
            // The author's own copy (gossipsub's emitSelf), then everyone else's by gossip.
            if (node.id === author.id) node.receiver.accept(message.from, message)
            else if (Math.random() >= LOSS) node.gossip(message)
          }
        }
      })
    }
  }
  for (const node of observers) {
    // Rounds this node starts, and (symmetrically, on average) rounds others start with it.
    for (
      let t = start + Math.random() * aeMs;
      t < start + REFRESHES * refreshMs;
      t += aeMs * (0.8 + Math.random() * 0.4)
    ) {
      push({ at: t, run: async () => void (await exchange(node, rest)) })
      push({ at: t + aeMs / 2, run: async () => void (await exchange(rest, node)) })
    }
  }
  queue.sort((a, b) => a.at - b.at)
  for (const event of queue) {
    clock = Math.round(event.at)
    await event.run()
  }
  const idleSeconds = (REFRESHES * refreshMs) / 1000
  const perNode = (pick: (c: Cost) => number): number =>
    Math.round((observers.reduce((sum, node) => sum + pick(node.cost), 0) / observers.length / idleSeconds) * 10_000) /
    10_000
  const idle = {
    seconds: idleSeconds,
    gossipMessagesPerSec: perNode((c) => c.gossipIn),
    syncMessagesPerSec: perNode((c) => c.syncMessages),
    syncBytesPerSec: perNode((c) => c.syncBytes),
    signatureChecksPerSec: perNode((c) => c.sigChecks)
  }

  // One event at a time: the record goes out by gossip; nodes that miss it are repaired by anti-entropy.
  const event = async (name: string, message: SignedMessage, newcomer?: SimNode): Promise<Record<string, unknown>> => {
    for (const node of all) node.cost = zero()
    const t0 = clock
    const heldBy = (node: SimNode): boolean => {
      const record = node.records.get(message.from.toString())
      return record != null && record.message.sequenceNumber === message.sequenceNumber
    }
    const verdict = rest.receiver.accept(message.from, message)
    if (verdict !== TopicValidatorResult.Accept)
      throw new Error(`rest refused the ${name} record: ${verdict} ${JSON.stringify(rest.stats)}`)
    const missed: SimNode[] = []
    for (const node of observers) {
      if (node.id === message.from.toString()) continue
      if (Math.random() < LOSS) missed.push(node)
      else node.gossip(message)
    }
    let agreedAt = t0 + hopsMs
    for (const node of missed) {
      // Its next anti-entropy round (phase uniform in the interval) repairs it.
      let t = t0 + Math.random() * aeMs
      for (let round = 0; ; round++) {
        clock = Math.round(t)
        await exchange(node, rest)
        if (heldBy(node)) break
        if (round > 20)
          throw new Error(
            `anti-entropy did not repair ${name} on ${node.id}: ${JSON.stringify(node.stats)} held ${node.records.size} rest ${rest.records.size}`
          )
        t += aeMs
      }
      agreedAt = Math.max(agreedAt, t)
    }
    let newcomerCost: Cost | undefined
    if (newcomer != null) {
      clock = t0
      // As CatalogSync.syncWith: rounds while answers are capped.
      for (let round = 0; round < 5 && (await exchange(newcomer, rest)) > 0; round++) {
        if (newcomer.records.size >= rest.records.size) break
      }
      newcomerCost = newcomer.cost
    }
    // Let descriptor fetches (promises) run before costs are read.
    await new Promise((resolve) => setTimeout(resolve, 20))
    clock = t0 + 60_000
    const costs = observers.filter((o) => o !== newcomer).map((o) => o.cost)
    const mean = (pick: (c: Cost) => number): number =>
      Math.round((costs.reduce((s, c) => s + pick(c), 0) / Math.max(1, costs.length)) * 1000) / 1000
    return {
      event: name,
      perExistingNode: {
        gossipMessages: mean((c) => c.gossipIn),
        syncMessages: mean((c) => c.syncMessages),
        signatureChecks: mean((c) => c.sigChecks),
        descriptorFetches: mean((c) => c.descriptorFetches)
      },
      ...(newcomerCost != null
        ? {
            newcomer: {
              signatureChecks: newcomerCost.sigChecks,
              syncBytes: newcomerCost.syncBytes,
              descriptorFetches: newcomerCost.descriptorFetches,
              recordsHeld: newcomer?.records.size
            }
          }
        : {}),
      missedByGossip: missed.length,
      agreeMs: Math.round(agreedAt - t0)
    }
  }
  const events: Array<Record<string, unknown>> = []
  const joiner = await newAuthor()
  const joinerNode = new SimNode(joiner.id)
  events.push(await event('join', await sign(joiner, n), joinerNode))
  const changer = authors[authors.length - 1]!
  changer.tools = ['shared_tool', 'new_tool']
  events.push(await event('tool change', await sign(changer, n)))
  const leaver = authors[authors.length - 2]!
  events.push(await event('leave', await sign(leaver, n, { leave: true, tools: [] })))
  return {
    n,
    observers: observers.length,
    loss: LOSS,
    refreshMs,
    antiEntropyMs: aeMs,
    gossipHopsMs: hopsMs,
    idle,
    events,
    wallSeconds: Math.round((performance.now() - started) / 100) / 10
  }
}

const results: Array<Record<string, unknown>> = []
for (const n of SIZES) {
  const result = await simulate(n)
  process.stderr.write(`bench:sim: ${JSON.stringify(result)}\n`)
  results.push(result)
}
process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`)
