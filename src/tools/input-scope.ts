import { AsyncLocalStorage } from 'node:async_hooks'
import type { InputRequest } from './types.js'

export type AskInput = (request: InputRequest) => Promise<Record<string, unknown>>

/**
 * The input channel of the call in progress, for MCP clients that forward
 * the call further (a shared server's client, a peer's pooled client): when
 * the far side asks for input inside the call's async flow (a 2026-07-28
 * `input_required` round that the SDK client fulfils), the client's handler
 * finds the caller to ask here.
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
