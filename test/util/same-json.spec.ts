import { describe, expect, it } from 'vitest'
import { plainJson, sameJson } from '../../src/util/same-json.js'

const PLAIN: unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  1,
  1.5,
  1e21,
  '',
  'a',
  '\ud800',
  [],
  [1, 'a', null],
  [[1], { a: 1 }],
  {},
  { a: 1 },
  { b: 1, a: 2 },
  { a: 2, b: 1 },
  { 1: 'x', a: 'y' },
  { a: { b: { c: [1, 2, { d: null }] } } },
  { a: { b: { c: [1, 2, { d: 0 }] } } },
  { 'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} } },
  { 'io.modelcontextprotocol/clientCapabilities': { sampling: {}, elicitation: { form: {}, url: {} }, roots: {} } }
]

class WithToJson {
  toJSON(): string {
    return 'x'
  }
}

const NOT_PLAIN: unknown[] = [
  undefined,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  () => 1,
  Symbol('s'),
  10n,
  [1, undefined],
  // biome-ignore lint/suspicious/noSparseArray: a hole is what is tested
  [1, , 2],
  { a: undefined },
  { a: 1, b: () => 1 },
  new Date(0),
  new Map(),
  new WithToJson(),
  { nested: { at: new Date(0) } }
]

describe('sameJson', () => {
  it('agrees with comparing JSON.stringify outputs for plain JSON values', () => {
    for (const value of PLAIN) {
      for (const other of PLAIN) {
        const parsed: unknown = JSON.parse(JSON.stringify(other))
        expect(sameJson(value, parsed), `${JSON.stringify(value)} vs ${JSON.stringify(other)}`).toBe(
          JSON.stringify(value) === JSON.stringify(parsed)
        )
      }
    }
  })

  it('never answers wrongly for a value JSON.stringify writes other than its shape (undefined: ask JSON.stringify)', () => {
    for (const value of NOT_PLAIN) {
      for (const other of [...PLAIN, 'x', [1, null], [1, null, 2], {}, '1970-01-01T00:00:00.000Z', { nested: {} }]) {
        const parsed: unknown = JSON.parse(JSON.stringify(other))
        const answer = sameJson(value, parsed)
        if (answer !== undefined) expect(answer).toBe(JSON.stringify(value) === JSON.stringify(parsed))
      }
    }
    expect(sameJson([1, undefined], [1, null])).toBeUndefined()
    expect(sameJson({ a: undefined }, {})).toBeUndefined()
    expect(sameJson(new WithToJson(), 'x')).toBeUndefined()
  })

  it('tells plain JSON from anything else', () => {
    for (const value of PLAIN) expect(plainJson(value)).toBe(true)
    for (const value of NOT_PLAIN) expect(plainJson(value)).toBe(false)
  })
})
