import { describe, expect, it } from 'vitest'
import { encodeFrame, FrameDecoder } from '../../src/mesh/frame.js'
import { thrownBy } from '../helpers/index.js'

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

describe('FrameDecoder', () => {
  it('decodes frames split across and packed into chunks', () => {
    const a = encodeFrame('{"a":1}', 1024)
    const b = encodeFrame('{"b":"two"}', 1024)
    const joined = new Uint8Array([...a, ...b])
    const decoder = new FrameDecoder(1024)
    expect(decoder.push(joined.subarray(0, 3))).toEqual([])
    const first = decoder.push(joined.subarray(3, a.length + 2))
    expect(first.map(text)).toEqual(['{"a":1}'])
    expect(decoder.push(joined.subarray(a.length + 2)).map(text)).toEqual(['{"b":"two"}'])
    expect(decoder.buffered).toBe(0)
  })

  it('refuses an oversized length from the header alone, before any body arrives', () => {
    const decoder = new FrameDecoder(1024)
    const err = thrownBy(() => decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xff])))
    expect(err.name).toBe('FrameTooLargeError')
    expect(err.message).toContain('4294967295')
  })

  it('refuses a zero-length frame', () => {
    expect(thrownBy(() => new FrameDecoder(1024).push(new Uint8Array([0, 0, 0, 0]))).name).toBe('MalformedFrameError')
  })

  it('will not encode a frame over the limit', () => {
    expect(thrownBy(() => encodeFrame('x'.repeat(2048), 1024)).name).toBe('FrameTooLargeError')
  })

  it('uses a big-endian u32 length prefix', () => {
    const frame = encodeFrame('{}', 1024)
    expect([...frame.subarray(0, 4)]).toEqual([0, 0, 0, 2])
  })
})
