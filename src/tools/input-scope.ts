import { AsyncLocalStorage } from 'node:async_hooks'
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client'
import { ChurnMap } from '../util/churn-map.js'
import type { InputRequest } from './types.js'

export type AskInput = (request: InputRequest) => Promise<Record<string, unknown>>

/**
 * The input channel of the call in progress, for MCP clients that forward
 * the call further (a shared server's client, a peer's pooled client): when
 * the far side asks for input inside the call's async flow (a 2026-07-28
 * `input_required` round that the SDK client fulfils), the client's handler
 * finds the caller to ask here.
 *
 * Set only around those forwarded requests (the mesh dispatcher's peer call,
 * the shared server's `#forward`, peer content), never around a whole call:
 * every promise, timer and immediate made in its scope keeps the value, and
 * the value (the caller's ask) holds the caller's whole call. Set by the
 * front for every tools/call, it went into the durable queue's own work (a
 * journal batch, the scheduler's pump, a task's run) started while a
 * `task_submit` ran, which outlived the call: the owner promoted 1.3 MB per
 * young-generation collection (4-5 ms pauses); scoped, 43 KB.
 */
export const callerInput = new AsyncLocalStorage<AskInput | undefined>()

/** Answers a far side's input request through the caller of the call in progress, if it can be asked. */
export async function askCallerInput(request: InputRequest): Promise<Record<string, unknown>> {
  const ask = callerInput.getStore()
  if (ask == null) throw new Error(`the call in progress has no caller to answer ${request.method}`)
  try {
    return await ask(request)
  } catch (err) {
    // The caller did not declare elicitation: decline, so the far side's other requests of
    // the same round still reach it (a failed handler would abort the whole round).
    if (request.method === 'elicitation/create' && isMissingCapability(err)) return { action: 'decline' }
    throw err
  }
}

function isMissingCapability(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === -32021
}

/**
 * Delivers each response in the async context of the call that sent its
 * request. When the far side answers `input_required`, the SDK client
 * fulfils the round from its response handler; there, the handler finds the
 * caller to ask (`callerInput`). Call after the client connected.
 */
export function answerInCallerContext(transport: Transport): void {
  const deliver = transport.onmessage
  if (deliver == null) return
  const send = transport.send.bind(transport)
  // A ChurnMap: an entry per request in flight, for as long as the transport lives (src/util/churn-map.ts).
  const callers = new ChurnMap<string | number, AskInput>()
  transport.send = async (message, options) => {
    const ask = callerInput.getStore()
    if (ask != null && 'method' in message && 'id' in message) callers.set(message.id, ask)
    // A cancelled request gets no response: forget its caller.
    if ('method' in message && message.method === 'notifications/cancelled' && !('id' in message)) {
      const requestId = (message.params as { requestId?: string | number } | undefined)?.requestId
      if (requestId != null) callers.delete(requestId)
    }
    return send(message, options)
  }
  transport.onmessage = (message: JSONRPCMessage, extra?: unknown) => {
    const ask = !('method' in message) && 'id' in message && message.id != null ? callers.get(message.id) : undefined
    if (ask == null) {
      ;(deliver as (message: JSONRPCMessage, extra?: unknown) => void)(message, extra)
      return
    }
    callers.delete((message as { id: string | number }).id)
    callerInput.run(ask, () => (deliver as (message: JSONRPCMessage, extra?: unknown) => void)(message, extra))
  }
}
