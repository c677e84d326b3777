import { ChurnMap } from '../util/churn-map.js'

/**
 * The MCP SDK's per-request bookkeeping on a `Protocol` (a Client or a
 * Server): each request in flight has an entry in these maps until it is
 * answered. Field names of SDK 2.x; absent ones are left alone.
 */
const REQUEST_MAPS = [
  '_responseHandlers',
  '_timeoutInfo',
  '_progressHandlers',
  '_requestHandlerAbortControllers'
] as const

/**
 * Puts a long-lived SDK client's or server's per-request maps in ChurnMaps (same API:
 * get, set, has, delete, values, clear; the SDK replaces them with new Maps
 * when the connection closes, which is fine). Each entry holds a closure of
 * its request, so in a plain Map that lives as long as the connection an
 * answered request was kept in the old generation with everything its
 * caller held (src/util/churn-map.ts). Measured on a node calling a shared
 * stdio server's tool at 64 in flight: 1.47 MB promoted per young-generation
 * collection, 1.0 MB with the maps swapped (the rest is the SDK stdio
 * transport's write callbacks, left as they are). On the front's servers
 * (the tools/call fast path registers each call's controller in
 * `_requestHandlerAbortControllers`): a queue owner serving `task_submit
 * {wait: true}` at 64 in flight, its worker a peer, promoted 1.43 MB per
 * collection, 0.42 MB with them swapped. Call it before `connect`.
 */
export function churnRequestMaps(protocol: object): void {
  const fields = protocol as Record<string, unknown>
  for (const field of REQUEST_MAPS) {
    const current = fields[field]
    if (!(current instanceof Map)) continue
    const churn = new ChurnMap<unknown, NonNullable<unknown>>()
    for (const [key, value] of current) if (value != null) churn.set(key, value)
    fields[field] = churn
  }
}
