import { type JSONRPCMessage, parseJSONRPCMessage, SERVER_INFO_META_KEY } from '@modelcontextprotocol/server'
import { MAX_KNOWN_SERVER_INFO, MAX_KNOWN_SERVER_INFO_CHARS } from './constants.js'
import { isPlainObject } from '../util/object.js'

/**
 * A hand-written check of the JSON-RPC shapes that make up the hot path
 * (requests, notifications and result responses with plain params, or a
 * result `_meta` carrying a serverInfo already seen valid), exactly
 * as strict as the SDK's schemas for them: `jsonrpc: "2.0"`, no extra keys,
 * an integer or string id, object params whose `_meta` carries at most a
 * valid progress token. Returns the message as it is, or undefined when the
 * value is anything else (error responses, unusual `_meta`, malformed input),
 * which then goes through the SDK's zod schema and its error messages.
 */
export function quickJsonRpc(value: unknown): JSONRPCMessage | undefined {
  if (!isPlainObject(value) || value.jsonrpc !== '2.0') return undefined
  let keys = 1
  const hasId = 'id' in value
  if (hasId) {
    const id = value.id
    if (!(typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id)))) return undefined
    keys++
  }
  if (typeof value.method === 'string') {
    keys++
    if ('params' in value) {
      if (!isPlainObject(value.params) || !plainMeta(value.params._meta)) return undefined
      keys++
    }
    return keyCount(value) === keys ? (value as JSONRPCMessage) : undefined
  }
  if (!hasId || !isPlainObject(value.result) || 'method' in value) return undefined
  if ('_meta' in value.result && !knownResultMeta(value.result._meta)) return undefined
  return keyCount(value) === keys + 1 ? (value as JSONRPCMessage) : undefined
}

/**
 * serverInfo values (their JSON) that the SDK's schema took as they are:
 * a peer's results carry its own, the same on every result.
 */
const knownServerInfo = new Set<string>()

/**
 * A result `_meta` the quick path accepts: an object carrying a serverInfo
 * the SDK's schema already took unchanged (the only key of a result's
 * `_meta` that schema constrains; an invalid one it replaces, so a value
 * met for the first time is checked by the schema, alone). Anything else
 * goes to the full schema.
 */
function knownResultMeta(meta: unknown): boolean {
  if (!isPlainObject(meta) || !(SERVER_INFO_META_KEY in meta)) return false
  const info = meta[SERVER_INFO_META_KEY]
  if (!isPlainObject(info)) return false
  const key = JSON.stringify(info)
  // A peer's input held node-wide: bounded in count and in size (a larger one is the schema's to check).
  if (key.length > MAX_KNOWN_SERVER_INFO_CHARS) return false
  if (knownServerInfo.has(key)) return true
  let taken: unknown
  try {
    const probe = { jsonrpc: '2.0', id: 0, result: { _meta: { [SERVER_INFO_META_KEY]: info } } }
    taken = (parseJSONRPCMessage(probe) as { result: { _meta: Record<string, unknown> } }).result._meta[
      SERVER_INFO_META_KEY
    ]
  } catch {
    return false
  }
  if (JSON.stringify(taken) !== key) return false
  if (knownServerInfo.size >= MAX_KNOWN_SERVER_INFO) knownServerInfo.clear()
  knownServerInfo.add(key)
  return true
}

/**
 * The object's enumerable keys, counted without the array `Object.keys` makes
 * (two per call on the hot path). It counts inherited ones too: never fewer
 * than Object.keys, so a value it miscounts goes to the schema.
 */
function keyCount(value: object): number {
  let count = 0
  for (const _key in value) count++
  return count
}

/** The one `_meta` key of a request the SDK's schema constrains besides progressToken. */
const RELATED_TASK_META_KEY = 'io.modelcontextprotocol/related-task'

/** A `_meta` the quick path accepts: absent, or an object whose progressToken (if any) is valid. */
function plainMeta(meta: unknown): boolean {
  if (meta === undefined) return true
  if (!isPlainObject(meta) || RELATED_TASK_META_KEY in meta) return false
  if (!('progressToken' in meta)) return true
  const token = meta.progressToken
  return typeof token === 'string' || (typeof token === 'number' && Number.isSafeInteger(token))
}
