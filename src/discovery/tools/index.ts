import type { Discovery } from '../index.js'
import type { Tool } from '../../tools/types.js'
import { createBootstrapStatusTool } from './bootstrap-status.js'
import { createPeerConnectTool } from './peer-connect.js'
import { createPeerDisconnectTool } from './peer-disconnect.js'
import { createPeerDiscoverTool } from './peer-discover.js'
import { createPeerInfoTool } from './peer-info.js'

/** The peer tools discovery registers (the mesh layer owns `peer_list`, `peer_tools` and `mesh_call`). */
export function peerTools(discovery: Discovery): Tool[] {
  return [
    createPeerInfoTool(discovery),
    createPeerConnectTool(discovery),
    createPeerDisconnectTool(discovery),
    createPeerDiscoverTool(discovery),
    createBootstrapStatusTool(discovery)
  ]
}
