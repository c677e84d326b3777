import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY
} from '@modelcontextprotocol/server'
import { minute } from '../util/time.js'

/** The stateless revision: capabilities and client info travel in each request's `_meta` envelope. */
export const MODERN_ERA = '2026-07-28'
/**
 * The `_meta` keys of a request's envelope, in the order the SDK lifts them
 * (its RESERVED_ENVELOPE_META_KEYS, which it does not export).
 */
export const ENVELOPE_META_KEYS = [
  PROTOCOL_VERSION_META_KEY,
  CLIENT_INFO_META_KEY,
  CLIENT_CAPABILITIES_META_KEY,
  LOG_LEVEL_META_KEY
] as const

/** Streamable HTTP listens on this address only. */
export const HTTP_HOST = '127.0.0.1'
export const HTTP_PATH = '/mcp'
/** Largest accepted request body; larger ones get 413 before the MCP layer sees them. */
export const MAX_HTTP_BODY_BYTES = 4 * 1024 * 1024
/** Open Streamable HTTP sessions at once (`mcp.httpMaxSessions`); a new one beyond it gets 503. */
export const DEFAULT_HTTP_MAX_SESSIONS = 64
/** 2026-07-28 (stateless) HTTP requests being answered at once; one beyond it gets 503. */
export const MAX_HTTP_STATELESS_IN_FLIGHT = 256
/** A session with no request in flight for this long is closed (`mcp.httpSessionIdleMs`). */
export const DEFAULT_HTTP_SESSION_IDLE_MS = 15 * minute
/** The bearer token file in the node's home (mode 0600). */
export const HTTP_TOKEN_FILE = 'http.token'
/** Random bytes in a generated token (base64url: 43 characters). */
export const HTTP_TOKEN_BYTES = 32
/** JSON-RPC error codes of the HTTP layer (server-defined range, as the SDK's -32000 and -32001). */
export const HTTP_ERROR_BAD_REQUEST = -32000
export const HTTP_ERROR_SESSION_NOT_FOUND = -32001
export const HTTP_ERROR_UNAUTHORIZED = -32002
export const HTTP_ERROR_FORBIDDEN = -32003
export const HTTP_ERROR_TOO_MANY_SESSIONS = -32004
/** A call waiting for its client's input (2026-07-28 input_required) is abandoned after this long. */
export const DEFAULT_INPUT_ROUND_TTL_MS = 10 * minute
/** Input requests made within this window of the first one join the same input_required round. */
export const INPUT_ROUND_GATHER_MS = 20
/** Calls waiting for input at once, over all clients; a new one beyond it is refused. */
export const MAX_PENDING_INPUT_CALLS = 256
/** Peers' prompt and resource lists are kept this long before they are listed again. */
export const PEER_CONTENT_TTL_MS = 5_000
/** Listing one peer's prompts and resources gives up after this long (that peer then shows none). */
export const PEER_CONTENT_LIST_TIMEOUT_MS = 5_000

/** serverInfo values of results remembered as valid by the quick JSON-RPC check (json-rpc.ts; emptied when full). */
export const MAX_KNOWN_SERVER_INFO = 64

/**
 * The longest serverInfo (its JSON) the quick check remembers: a real one (name, version, title,
 * icons' URLs) is a few hundred characters; a peer's larger one goes to the SDK schema every time,
 * so the memory is at most 64 × 2,048 characters node-wide, whatever peers send.
 */
export const MAX_KNOWN_SERVER_INFO_CHARS = 2_048
