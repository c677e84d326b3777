import { BaseDatastore, MemoryDatastore } from 'datastore-core'
import type { AbortOptions } from '@libp2p/interface'
import { type Datastore, Key, type KeyQuery, type Pair, type Query } from 'interface-datastore'
import { errorMessage } from '../util/errors.js'
import { meshLogger } from '../util/logger.js'
import { PEER_STORE_FLUSH_MS, PEER_STORE_NEW_PEER_FLUSH_MS, PEER_STORE_PREFIX } from './constants.js'

const log = meshLogger('node:datastore')

/**
 * libp2p's datastore, in memory. libp2p reads and writes its peer store on
 * every identify, address change and tag; on LevelDB that was disk work on
 * every new stream of an idle node (issue 11). Held in memory here:
 *
 * - the peer store (`/peers/…`), loaded from the node's LevelDB at start and
 *   written back there (changed entries only) every PEER_STORE_FLUSH_MS and
 *   on stop, so the known peers discovery tags in it (src/discovery/known-peers.ts)
 *   survive restarts, and a crash loses at most one interval of changes to
 *   peers already persisted; a peer not persisted yet is written back within
 *   PEER_STORE_NEW_PEER_FLUSH_MS, so a crash does not lose its addresses;
 * - everything else libp2p keeps (kad-dht's value records and the provider
 *   records other nodes put on us): memory only. Their authors republish
 *   them (kad-dht's reprovider), and a restarted node is refilled by them.
 *
 * Our own data (queue journal, workflows) stays on LevelDB, outside this.
 */
export class Libp2pDatastore extends BaseDatastore {
  readonly #memory = new MemoryDatastore()
  readonly #backing: Datastore
  readonly #flushMs: number
  readonly #newPeerFlushMs: number
  /** Peer-store keys changed (put or deleted) since the last write-back. */
  readonly #dirty = new Set<string>()
  /** Peer-store keys the backing store holds. */
  readonly #persisted = new Set<string>()
  #timer?: NodeJS.Timeout
  #soon?: NodeJS.Timeout
  #flushing: Promise<void> = Promise.resolve()

  constructor(backing: Datastore, options: { flushMs?: number; newPeerFlushMs?: number } = {}) {
    super()
    this.#backing = backing
    this.#flushMs = options.flushMs ?? PEER_STORE_FLUSH_MS
    this.#newPeerFlushMs = options.newPeerFlushMs ?? PEER_STORE_NEW_PEER_FLUSH_MS
  }

  /** Loads the persisted peer store; starts the periodic write-back. */
  async open(): Promise<void> {
    for await (const { key, value } of this.#backing.query({ prefix: PEER_STORE_PREFIX })) {
      this.#memory.put(key, value)
      this.#persisted.add(key.toString())
    }
    this.#timer = setInterval(() => {
      void this.flush()
    }, this.#flushMs)
    this.#timer.unref()
  }

  /** Writes the last changes back and stops the timer (call before closing the backing store). */
  async close(): Promise<void> {
    clearInterval(this.#timer)
    clearTimeout(this.#soon)
    this.#timer = undefined
    this.#soon = undefined
    await this.flush()
  }

  override async put(key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    this.#memory.put(key, value, options)
    this.#touch(key)
    return key
  }

  override async get(key: Key, options?: AbortOptions): Promise<Uint8Array> {
    return this.#memory.get(key, options)
  }

  override async has(key: Key, options?: AbortOptions): Promise<boolean> {
    return this.#memory.has(key, options)
  }

  override async delete(key: Key, options?: AbortOptions): Promise<void> {
    this.#memory.delete(key, options)
    this.#touch(key)
  }

  override async *_all(_query: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    yield* this.#memory._all(_query, options)
  }

  override async *_allKeys(_query: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    yield* this.#memory._allKeys(_query, options)
  }

  /** Writes changed peer-store entries to the backing store (one batch); never throws. */
  async flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#dirty.size === 0) return
      const keys = [...this.#dirty]
      this.#dirty.clear()
      const batch = this.#backing.batch()
      const present = new Set<string>()
      for (const text of keys) {
        const key = new Key(text)
        if (await this.#memory.has(key)) {
          batch.put(key, await this.#memory.get(key))
          present.add(text)
        } else batch.delete(key)
      }
      try {
        await batch.commit()
        for (const text of keys) {
          if (present.has(text)) this.#persisted.add(text)
          else this.#persisted.delete(text)
        }
      } catch (err) {
        for (const key of keys) this.#dirty.add(key)
        log.error('writing the peer store back failed: %s', errorMessage(err))
      }
    })
    await this.#flushing
  }

  #touch(key: Key): void {
    const text = key.toString()
    if (!text.startsWith(PEER_STORE_PREFIX)) return
    this.#dirty.add(text)
    if (this.#persisted.has(text) || this.#soon != null || this.#timer == null) return
    this.#soon = setTimeout(() => {
      this.#soon = undefined
      void this.flush()
    }, this.#newPeerFlushMs)
    this.#soon.unref()
  }
}
