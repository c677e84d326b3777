import { ChurnMap } from '../util/churn-map.js'
import type { LogMessage } from './types.js'

/**
 * `_meta` key on a mesh call (and on the log messages the peer sends back
 * while it runs): the calling node's name for the call, so each log message
 * reaches the caller of its own call on a stream many calls share.
 */
export const CALL_RELAY_META_KEY = 'mcp-mesh/relay'

type Relay = (message: LogMessage) => void

/**
 * The log channels of the calls in flight on one connection. A message that
 * names its call (`_meta["mcp-mesh/relay"]`, sent by mcp-mesh peers) goes to
 * that call's caller; one that names none (a 2025 server's, an MCP++ peer's)
 * to the most recent call in flight, which is exact with one call at a time.
 *
 * The channels are a ChurnMap, not a Map: every mesh call opens one and
 * closes it (the peer pool's registry lives as long as the node), and a
 * long-lived Map with an entry per call in flight kept each closed channel
 * (its closure holds the caller's whole call) in the old generation. On a
 * node calling a peer at 64 in flight that promoted 1.1 MB per
 * young-generation collection (3.2 ms pauses); with the ChurnMap, 13 KB
 * (1.5 ms). bench/RESULTS.md, issue 12, eleventh pass.
 */
export class LogRelays {
  readonly #open = new ChurnMap<string, Relay>()
  readonly #prefix: string
  #next = 1

  constructor(prefix = 'call') {
    this.#prefix = prefix
  }

  /** Registers a call's log channel; returns the call's tag and the function that removes it. */
  open(relay: Relay): { tag: string; close: () => void } {
    const tag = `${this.#prefix}-${this.#next++}`
    this.#open.set(tag, relay)
    return { tag, close: () => this.#open.delete(tag) }
  }

  /** Delivers one `notifications/message` (its params as received). Returns whether a caller got it. */
  deliver(params: Record<string, unknown>): boolean {
    const { _meta: meta, ...rest } = params as { _meta?: Record<string, unknown> } & Record<string, unknown>
    const tag = meta?.[CALL_RELAY_META_KEY]
    const relay = typeof tag === 'string' ? this.#open.get(tag) : [...this.#open.values()].at(-1)
    if (relay == null) return false
    const message = rest as unknown as LogMessage
    if (meta != null) {
      const { [CALL_RELAY_META_KEY]: _tag, ...others } = meta
      if (Object.keys(others).length > 0) message._meta = others
    }
    relay(message)
    return true
  }
}
