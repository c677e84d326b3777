/**
 * Embedded defaults. A fresh node listens on every interface on a random TCP
 * port and a random WebSocket port, so several nodes can share one machine.
 */
export const DEFAULT_LISTEN: readonly string[] = ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws']
export const DEFAULT_MESH_NAME = 'default'
export const DEFAULT_MDNS_SERVICE_TAG = '_mcp-mesh._udp.local'
export const CONFIG_FILE = 'config.json'
export const DATASTORE_DIR = 'datastore'
export const API_SOCKET = 'api.sock'
export const LOCK_FILE = 'repo.lock'
