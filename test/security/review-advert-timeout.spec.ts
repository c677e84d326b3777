/**
 * Red-team review: a tool's timeout in a catalog advert is the signer's
 * word, and an owner takes it as the timeout of tasks of that tool (the
 * first catalog peer offering it decides). A timeout past Node's timer range
 * (2^40 ms) became a task timeout whose timers overflow (they fire at once,
 * on the owner and on any worker), so one advert could fail the queued
 * tasks of that tool even on honest workers. Such an
 * advert is malformed now, like one over the metadata's 24 h limit; it is
 * rejected by the topic validator. Control: an advert within the limit decodes.
 */
import { describe, expect, it } from 'vitest'
import { decodeAdvert } from '../../src/mesh/advert.js'
import { advertTool } from './attacker.js'

function advert(timeoutMs: number): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      v: 1,
      mesh: 'default',
      peerId: '12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      seq: 1,
      ts: Date.now(),
      capacity: { maxConcurrency: 8 },
      load: { inFlight: 0, queued: 0 },
      tools: [{ ...advertTool('slow_tool'), timeoutMs }]
    })
  )
}

describe('a tool timeout in an advert', () => {
  it('past the 24 h metadata limit is malformed; control: one within it decodes', () => {
    expect(() => decodeAdvert(advert(2 ** 40))).toThrow()
    expect(() => decodeAdvert(advert(24 * 3_600_000 + 1))).toThrow()
    expect(decodeAdvert(advert(30_000)).tools[0]!.timeoutMs).toBe(30_000)
  })
})
