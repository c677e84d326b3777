import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { describe, expect, it, vi } from 'vitest'
import { Libp2pDatastore } from '../../src/node/libp2p-datastore.js'

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

async function keys(store: MemoryDatastore | Libp2pDatastore, prefix: string): Promise<string[]> {
  const found: string[] = []
  for await (const key of store.queryKeys({ prefix })) found.push(key.toString())
  return found.sort()
}

describe('Libp2pDatastore', () => {
  it('loads the persisted peer store and writes changed entries back on close, nothing else', async () => {
    const backing = new MemoryDatastore()
    await backing.put(new Key('/peers/a'), bytes('a1'))
    await backing.put(new Key('/peers/gone'), bytes('g'))
    await backing.put(new Key('/queue/x'), bytes('ours'))
    const store = new Libp2pDatastore(backing, { flushMs: 60_000 })
    await store.open()
    expect(await keys(store, '/peers/')).toEqual(['/peers/a', '/peers/gone'])
    expect(await store.has(new Key('/queue/x'))).toBe(false)

    await store.put(new Key('/peers/a'), bytes('a2'))
    await store.put(new Key('/peers/b'), bytes('b1'))
    await store.delete(new Key('/peers/gone'))
    await store.put(new Key('/dht/record/r'), bytes('r'))
    // Nothing reaches the backing store before a write-back.
    expect(new TextDecoder().decode(await backing.get(new Key('/peers/a')))).toBe('a1')

    await store.close()
    expect(await keys(backing, '/peers/')).toEqual(['/peers/a', '/peers/b'])
    expect(new TextDecoder().decode(await backing.get(new Key('/peers/a')))).toBe('a2')
    expect(await backing.has(new Key('/dht/record/r'))).toBe(false)
    expect(await backing.has(new Key('/queue/x'))).toBe(true)
  })

  it('writes a peer it has not persisted yet back soon, and coalesces changes to known ones', async () => {
    vi.useFakeTimers()
    try {
      const backing = new MemoryDatastore()
      await backing.put(new Key('/peers/a'), bytes('a1'))
      const store = new Libp2pDatastore(backing, { flushMs: 60_000, newPeerFlushMs: 1_000 })
      await store.open()
      const text = async (key: string): Promise<string> => new TextDecoder().decode(await backing.get(new Key(key)))
      // A change to a persisted peer waits for the interval.
      await store.put(new Key('/peers/a'), bytes('a2'))
      await vi.advanceTimersByTimeAsync(30_000)
      expect(await text('/peers/a')).toBe('a1')
      // A new peer's addresses survive a crash soon after meeting it (with what else is pending).
      await store.put(new Key('/peers/new'), bytes('n1'))
      await vi.advanceTimersByTimeAsync(999)
      expect(await backing.has(new Key('/peers/new'))).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(await text('/peers/new')).toBe('n1')
      expect(await text('/peers/a')).toBe('a2')
      // Once persisted, it is a known peer: its next change waits for the interval.
      await store.put(new Key('/peers/new'), bytes('n2'))
      await vi.advanceTimersByTimeAsync(10_000)
      expect(await text('/peers/new')).toBe('n1')
      await vi.advanceTimersByTimeAsync(20_000)
      expect(await text('/peers/new')).toBe('n2')
      await store.close()
    } finally {
      vi.useRealTimers()
    }
  })

  it('throws libp2p’s NotFoundError for a missing key', async () => {
    const store = new Libp2pDatastore(new MemoryDatastore())
    await store.open()
    await expect(store.get(new Key('/peers/none'))).rejects.toMatchObject({ name: 'NotFoundError' })
    await store.close()
  })
})
