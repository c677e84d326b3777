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
    // Nothing buffered (the common read): frames are views of the chunk (a list of several is
    // joined once), read in place; only an incomplete tail is buffered. No list look-ups,
    // DataView or copy per frame.
    if (this.#buffer.byteLength === 0) {
      return this.#pushContiguous(chunk instanceof Uint8Array ? chunk : chunk.subarray())
    }
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

  /** `push` of one contiguous chunk with nothing buffered: the same frames and the same checks. */
  #pushContiguous(bytes: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = []
    let offset = 0
    while (bytes.byteLength - offset >= FRAME_HEADER_BYTES) {
      const length =
        ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0
      if (length > this.#maxFrameBytes) throw new FrameTooLargeError(length, this.#maxFrameBytes)
      if (length === 0) throw new MalformedFrameError('zero-length frame')
      if (bytes.byteLength - offset < FRAME_HEADER_BYTES + length) break
      frames.push(bytes.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length))
      offset += FRAME_HEADER_BYTES + length
    }
    // An incomplete tail after complete frames is copied: a view would pin the whole chunk (a list
    // of several is a joined copy) while the peer's partial-frame budget is charged the tail alone.
    if (offset < bytes.byteLength) this.#buffer.append(offset > 0 ? bytes.slice(offset) : bytes)
    return frames
  }
}
