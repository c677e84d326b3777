import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { describe, expect, it } from 'vitest'
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

  it('throws libp2p’s NotFoundError for a missing key', async () => {
    const store = new Libp2pDatastore(new MemoryDatastore())
    await store.open()
    await expect(store.get(new Key('/peers/none'))).rejects.toMatchObject({ name: 'NotFoundError' })
    await store.close()
  })
})
