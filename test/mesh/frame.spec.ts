import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { encodeFrame, FrameDecoder } from '../../src/mesh/frame.js'
import { fullGc } from '../helpers/gc.js'
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

  it('decodes the same frames whichever way the bytes are chunked (arrays or lists, whole or split)', () => {
    const texts = ['{"a":1}', `{"b":"${'x'.repeat(300)}"}`, '{}', `{"c":"${'é'.repeat(70)}"}`, '[1,2,3]']
    const bytes = Buffer.concat(texts.map((t) => encodeFrame(t, 4096)))
    // Deterministic cut points: every chunking from one piece to one byte per piece.
    for (const size of [bytes.length, 600, 257, 64, 5, 4, 3, 1]) {
      for (const asList of [false, true]) {
        const decoder = new FrameDecoder(4096)
        const got: string[] = []
        for (let offset = 0; offset < bytes.length; offset += size) {
          const piece = bytes.subarray(offset, offset + size)
          got.push(...decoder.push(asList ? new Uint8ArrayList(piece) : piece).map(text))
        }
        expect(got, `chunks of ${size}${asList ? ' as lists' : ''}`).toEqual(texts)
        expect(decoder.buffered).toBe(0)
      }
    }
    // A list of several chunks at once, and a whole chunk after a partial one.
    const decoder = new FrameDecoder(4096)
    expect(decoder.push(new Uint8ArrayList(bytes.subarray(0, 2), bytes.subarray(2, 20))).map(text)).toEqual([texts[0]])
    expect(decoder.push(bytes.subarray(20)).map(text)).toEqual(texts.slice(1))
  })

  it('reads a length with the high bit set as the large number it is', () => {
    const decoder = new FrameDecoder(1024)
    const err = thrownBy(() => decoder.push(new Uint8Array([0x80, 0, 0, 0, 1])))
    expect(err.name).toBe('FrameTooLargeError')
    expect(err.message).toContain('2147483648')
  })

  it('refuses a zero-length frame', () => {
    expect(thrownBy(() => new FrameDecoder(1024).push(new Uint8Array([0, 0, 0, 0]))).name).toBe('MalformedFrameError')
  })

  it('will not encode a frame over the limit', () => {
    expect(thrownBy(() => encodeFrame('x'.repeat(2048), 1024)).name).toBe('FrameTooLargeError')
  })

  it('keeps a copy of the incomplete tail after complete frames, not the chunk it came in', async () => {
    const decoder = new FrameDecoder(1 << 20)
    const second = encodeFrame('{"b":2}', 1 << 20)
    // A chunk of 64 KiB: one complete frame, then the first 5 bytes of the next.
    const chunkRef = ((): WeakRef<ArrayBuffer> => {
      const first = encodeFrame(JSON.stringify({ a: 'x'.repeat(64 * 1024) }), 1 << 20)
      const chunk = new Uint8Array(first.length + 5)
      chunk.set(first)
      chunk.set(second.subarray(0, 5), first.length)
      expect(decoder.push(chunk).map((frame) => frame.byteLength)).toEqual([first.length - 4])
      return new WeakRef(chunk.buffer)
    })()
    expect(decoder.buffered).toBe(5)
    await fullGc()
    expect(chunkRef.deref()).toBeUndefined()
    // The tail still completes the next frame (control).
    expect(decoder.push(second.subarray(5)).map(text)).toEqual(['{"b":2}'])
  })

  it('uses a big-endian u32 length prefix', () => {
    const frame = encodeFrame('{}', 1024)
    expect([...frame.subarray(0, 4)]).toEqual([0, 0, 0, 2])
  })
})
