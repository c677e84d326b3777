/**
 * Bootstrap peers compiled into the binary. mcp-mesh has no public
 * infrastructure, so the list is empty: a node joins a mesh through
 * `--bootstrap`, `MCP_MESH_BOOTSTRAP`, config `bootstrap`, mDNS on the LAN, or
 * peers it remembers from earlier runs. Kept in its own file, as Helia does,
 * so a distribution can ship its own list.
 */
export const DEFAULT_BOOTSTRAP_PEERS: readonly string[] = []
