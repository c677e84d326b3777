import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/server'
import { describe, expect, it } from 'vitest'
import { responder } from '../../src/mcp/fast-call.js'

/**
 * How the fast path hands its response to the session's channel: with the
 * SDK's serveStdio channel it marks the request answered and writes to the
 * wire itself (what the channel's `send` does after classifying the message
 * with two zod parses); with any other transport it calls `send`.
 */

const response: JSONRPCMessage = { jsonrpc: '2.0', id: 7, result: { content: [] } }

function stdioChannel(state: { closed?: boolean; intercept?: string } = {}): {
  channel: Transport
  settled: unknown[]
  wired: JSONRPCMessage[]
  sent: JSONRPCMessage[]
} {
  const settled: unknown[] = []
  const wired: JSONRPCMessage[] = []
  const sent: JSONRPCMessage[] = []
  const channel = {
    _closed: state.closed === true,
    _settle: (id: unknown) => settled.push(id),
    _outboundIntercept: state.intercept != null ? () => state.intercept : undefined,
    _wire: {
      start: async () => {},
      close: async () => {},
      send: async (message: JSONRPCMessage) => {
        wired.push(message)
      }
    },
    start: async () => {},
    close: async () => {},
    send: async (message: JSONRPCMessage) => {
      sent.push(message)
    }
  }
  return { channel: channel as unknown as Transport, settled, wired, sent }
}

describe('responder', () => {
  it("marks the request answered and writes to the stdio channel's wire", async () => {
    const { channel, settled, wired, sent } = stdioChannel()
    await responder(channel, 7)(response)
    expect(settled).toEqual([7])
    expect(wired).toEqual([response])
    expect(sent).toEqual([])
  })

  it('writes nothing once the channel is closed, or when its outbound interceptor handled the message', async () => {
    for (const state of [{ closed: true }, { intercept: 'handled' }]) {
      const { channel, settled, wired } = stdioChannel(state)
      await responder(channel, 7)(response)
      expect(settled).toEqual([7])
      expect(wired).toEqual([])
    }
    const passed = stdioChannel({ intercept: 'passed' })
    await responder(passed.channel, 7)(response)
    expect(passed.wired).toEqual([response])
  })

  it('calls send on any other transport', async () => {
    const sent: JSONRPCMessage[] = []
    const transport = {
      start: async () => {},
      close: async () => {},
      send: async (message: JSONRPCMessage) => {
        sent.push(message)
      }
    } as Transport
    await responder(transport, 7)(response)
    expect(sent).toEqual([response])
  })
})
