import { describe, expect, it } from 'vitest'
import { promotionInChild } from '../helpers/index.js'

describe('answerInCallerContext', () => {
  it("keeps an answered request's caller (and the call it holds) out of the old generation", () => {
    // The shared server's and the peer pool's transports record the caller of each request until
    // it is answered. In a plain Map, each answered request's caller was promoted (measured:
    // ~1,150 bytes per request); in the ChurnMap, ~3.
    const promoted = promotionInChild('caller-context', 'relays-map')
    // Positive control: the harness sees a plain Map's churn promoted.
    expect(promoted['relays-map']).toBeGreaterThan(256)
    expect(promoted['caller-context']).toBeLessThan(64)
  })
})
