import { type CallToolResult, SERVER_INFO_META_KEY } from '@modelcontextprotocol/server'

/**
 * A peer's result without the serverInfo the 2026-07-28 wire puts in its
 * `_meta` (the peer's server naming itself): an artefact of the hop, not
 * part of the tool's result: a task's result is stored, journaled and
 * returned without it (a mesh call's result drops it as the dispatcher
 * annotates it). The same object when there is none.
 */
export function withoutServerInfo(result: CallToolResult): CallToolResult {
  const meta = result._meta
  if (meta == null || !(SERVER_INFO_META_KEY in meta)) return result
  const { [SERVER_INFO_META_KEY]: _peerInfo, ...rest } = meta
  const { _meta: _dropped, ...stripped } = result
  return Object.keys(rest).length > 0 ? { ...stripped, _meta: rest } : stripped
}
