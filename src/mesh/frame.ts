import { Uint8ArrayList } from 'uint8arraylist'
import { FRAME_HEADER_BYTES } from './constants.js'
import { FrameTooLargeError, MalformedFrameError } from './errors.js'

/** One frame: a u32 big-endian length, then that many bytes of UTF-8 JSON. */
export function encodeFrame(json: string, maxFrameBytes: number): Uint8Array {
  // One allocation: the UTF-8 length first, then the text written in place.
  const length = Buffer.byteLength(json, 'utf8')
  if (length > maxFrameBytes) throw new FrameTooLargeError(length, maxFrameBytes)
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length)
  frame.writeUInt32BE(length, 0)
  frame.write(json, FRAME_HEADER_BYTES, length, 'utf8')
  return frame
}

/**
 * Incremental decoder. The length is checked against the limit as soon as the
 * 4 header bytes arrive, before any body is buffered, so a peer that claims
 * 4 GiB costs us nothing. Body bytes are kept as received chunks and joined
 * only once a frame is complete.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number
  readonly #buffer = new Uint8ArrayList()

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes
  }

  get buffered(): number {
    return this.#buffer.byteLength
  }

  /** Appends bytes and returns every frame now complete; throws on an oversized or empty frame. */
  push(chunk: Uint8Array | Uint8ArrayList): Uint8Array[] {
    this.#buffer.append(chunk)
    const frames: Uint8Array[] = []
    while (this.#buffer.byteLength >= FRAME_HEADER_BYTES) {
      const length = this.#buffer.getUint32(0, false)
      if (length > this.#maxFrameBytes) throw new FrameTooLargeError(length, this.#maxFrameBytes)
      if (length === 0) throw new MalformedFrameError('zero-length frame')
      if (this.#buffer.byteLength < FRAME_HEADER_BYTES + length) break
      frames.push(this.#buffer.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length))
      this.#buffer.consume(FRAME_HEADER_BYTES + length)
    }
    return frames
  }
}
