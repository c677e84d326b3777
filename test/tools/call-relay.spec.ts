import { describe, expect, it } from 'vitest'
import { CALL_RELAY_META_KEY, LogRelays } from '../../src/tools/call-relay.js'
import type { LogMessage } from '../../src/tools/types.js'
import { promotionInChild } from '../helpers/index.js'

describe('LogRelays', () => {
  it('delivers a tagged message to its own call, without the tag, other _meta kept', () => {
    const relays = new LogRelays('t')
    const first: LogMessage[] = []
    const second: LogMessage[] = []
    const a = relays.open((m) => first.push(m))
    const b = relays.open((m) => second.push(m))
    expect(a.tag).not.toBe(b.tag)
    relays.deliver({ level: 'info', data: 'for a', _meta: { [CALL_RELAY_META_KEY]: a.tag, trace: 'x' } })
    relays.deliver({ level: 'warning', data: 'for b', logger: 'srv', _meta: { [CALL_RELAY_META_KEY]: b.tag } })
    expect(first).toEqual([{ level: 'info', data: 'for a', _meta: { trace: 'x' } }])
    expect(second).toEqual([{ level: 'warning', data: 'for b', logger: 'srv' }])
  })

  it('gives an untagged message to the most recent call in flight, and none once all closed', () => {
    const relays = new LogRelays()
    const older: LogMessage[] = []
    const newer: LogMessage[] = []
    const a = relays.open((m) => older.push(m))
    const b = relays.open((m) => newer.push(m))
    expect(relays.deliver({ level: 'info', data: 'untagged' })).toBe(true)
    expect(newer).toHaveLength(1)
    b.close()
    relays.deliver({ level: 'info', data: 'again' })
    expect(older.map((m) => m.data)).toEqual(['again'])
    a.close()
    expect(relays.deliver({ level: 'info', data: 'nobody' })).toBe(false)
    // A tag that is no longer open reaches nobody (not the most recent call).
    const c = relays.open(() => {
      throw new Error('must not receive another call’s message')
    })
    expect(relays.deliver({ level: 'info', data: 'stale', _meta: { [CALL_RELAY_META_KEY]: a.tag } })).toBe(false)
    c.close()
  })

  it('keeps a closed channel (and the call its closure holds) out of the old generation', () => {
    // A peer pool's registry lives as long as the node and opens a channel per mesh call. In a
    // plain Map, each closed channel's call was promoted (1.1 MB per young-generation collection
    // at 64 calls in flight on a node); measured here: a Map ~1,000 bytes per call, LogRelays ~2.
    const promoted = promotionInChild('relays', 'relays-map')
    // Positive control: the same channels in a plain Map are promoted.
    expect(promoted['relays-map']).toBeGreaterThan(256)
    expect(promoted.relays).toBeLessThan(64)
  })
})
