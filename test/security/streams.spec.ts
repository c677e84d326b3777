import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, waitFor } from '../helpers/index.js'
import { Attacker, encodeFrame, type FrameSession, MCP_PROTOCOL_VERSION } from './attacker.js'
import { startNode } from './nodes.js'

/**
 * `/mcp+p2p` stream hygiene against a raw peer on one connection. The node
 * allows 8 inbound `/mcp+p2p` streams per connection, so streams it never
 * finishes are a slot leak; and a frame whose body never comes must not pin
 * a stream (and its buffered header) until the 5 minute idle timeout.
 */

afterEach(cleanup)

async function echo(session: FrameSession, message: string): Promise<string> {
  const result = await session.request<{ structuredContent?: { message?: string } }>('tools/call', {
    name: 'echo',
    arguments: { message }
  })
  return result.structuredContent?.message ?? ''
}

describe('/mcp+p2p streams from a raw peer', () => {
  it('sequential sessions: a 9th+ session on one connection still works after earlier ones ended their write side', {
    timeout: 90_000
  }, async () => {
    const victim = await startNode('victim')
    const attacker = await Attacker.create()
    await attacker.dial(victim.address)
    const sessions: FrameSession[] = []
    const answered: string[] = []
    let failure: string | undefined
    for (let i = 0; i < 12 && failure == null; i++) {
      try {
        const session = await attacker.session(victim.address)
        sessions.push(session)
        answered.push(await echo(session, `session-${i}`))
        // Done with it: end our side, as a client that makes one call per stream does.
        await session.endWrite()
      } catch (err) {
        failure = `session ${i + 1} failed: ${(err as Error).message}`
      }
    }
    // Control: the first session is served normally.
    expect(answered[0]).toBe('session-0')
    expect(attacker.connections(victim.peerId).length).toBeGreaterThan(0)
    // The node closes its side once ours has ended (so the stream stops counting against the limit).
    const closed = await waitFor(() => sessions.every((s) => s.closed), {
      timeoutMs: 5_000,
      message: 'the node to close every ended session'
    }).catch(() => false)
    expect.soft(failure, 'a later session was refused').toBeUndefined()
    expect.soft(answered).toEqual(Array.from({ length: 12 }, (_, i) => `session-${i}`))
    expect.soft(closed ? 0 : sessions.filter((s) => !s.closed).length, 'ended sessions the node never closed').toBe(0)
  })

  it('partial frames: closes a stream whose frame header arrived but whose body never does', {
    timeout: 60_000
  }, async () => {
    const victim = await startNode('victim')
    const attacker = await Attacker.create()
    await attacker.dial(victim.address)

    // Control: a complete frame is answered on a fresh stream.
    const honest = await attacker.open(victim.address)
    const init = await honest.request<{ protocolVersion: string }>('initialize', {
      protocolVersion: MCP_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'control', version: '1' }
    })
    expect(init.protocolVersion).toBeTruthy()

    // Attack: a header announcing 100 bytes, then 10 of them, then silence.
    const partial = await attacker.open(victim.address)
    const frame = encodeFrame({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(60) } })
    partial.sendRaw(frame.subarray(0, 14))
    const started = Date.now()
    const closed = await waitFor(() => partial.closed, {
      timeoutMs: 15_000,
      message: 'the node to close the stream with an incomplete frame'
    }).catch(() => false)
    expect(closed, `stream with a partial frame still open after ${Date.now() - started} ms`).toBe(true)
    // The honest stream is unaffected.
    expect(honest.closed).toBe(false)
  })
})
