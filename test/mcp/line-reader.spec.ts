import { ReadBuffer } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { LineReader } from '../../src/mcp/line-reader.js'

interface Reader {
  append(chunk: Buffer): void
  readMessage(): unknown
}

/** Everything a reader yields for `chunks`: messages, `null` when it wants more, and thrown errors, in order. */
function drain(reader: Reader, chunks: Buffer[]): unknown[] {
  const seen: unknown[] = []
  for (const chunk of chunks) {
    try {
      reader.append(chunk)
    } catch (err) {
      seen.push({ appendError: (err as Error).message })
      continue
    }
    for (;;) {
      try {
        const message = reader.readMessage()
        seen.push(message)
        if (message == null) break
      } catch (err) {
        seen.push({ readError: (err as Error).name })
      }
    }
  }
  return seen
}

/** `text` cut into chunks of `size` bytes (multi-byte characters split across chunks). */
function chunked(text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text)
  const chunks: Buffer[] = []
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size))
  return chunks
}

const request = (id: number, message: string): string =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message } } })

const STREAM = [
  `${request(1, 'plain')}\n`,
  `${request(2, 'crlf')}\r\n`,
  'not json at all\n',
  `${request(3, 'héllo wörld ✓ 🚀')}\n`,
  '{"jsonrpc":"2.0","id":4}\n',
  `${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`,
  '\n',
  `${request(5, 'cr inside \r the line')}\n`,
  // Shapes the quick check declines (the SDK's schema decides) next to those it takes.
  '{"jsonrpc":"2.0","id":8,"result":{"content":[]}}\n',
  '{"jsonrpc":"2.0","id":9,"error":{"code":-32601,"message":"nope"}}\n',
  '{"jsonrpc":"2.0","id":10,"method":"ping","extra":true}\n',
  '{"jsonrpc":"2.0","id":1.5,"method":"ping"}\n',
  '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"_meta":{"progressToken":1.5}}}\n',
  '{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"_meta":{"progressToken":"t"},"name":"echo"}}\n',
  '[1,2]\n',
  `${request(6, 'no newline yet')}`
].join('')

describe('LineReader', () => {
  it.each([1, 2, 3, 7, 64, STREAM.length])('yields what the SDK ReadBuffer yields, chunks of %i bytes', (size) => {
    const ours = drain(new LineReader(), chunked(STREAM, size))
    expect(ours).toEqual(drain(new ReadBuffer(), chunked(STREAM, size)))
    expect(ours.filter((entry) => entry != null && 'id' in (entry as object)).length).toBeGreaterThan(3)
  })

  it('refuses to buffer more than its limit, as the SDK does, and reads on after', () => {
    const chunks = [Buffer.from('{"a":'), Buffer.alloc(160, 0x20), Buffer.from(`${request(7, 'after')}\n`)]
    const ours = drain(new LineReader(150), chunks)
    expect(ours).toEqual(drain(new ReadBuffer({ maxBufferSize: 150 }), chunks))
    expect(ours).toContainEqual({ appendError: 'ReadBuffer exceeded maximum size of 150 bytes' })
    expect(ours).toContainEqual(expect.objectContaining({ id: 7 }))
  })
})
