import type { Client } from '@modelcontextprotocol/client'
import type { Command } from 'commander'
import { resolveHome } from '../../config/load.js'
import { callTool, withApi } from '../api-client.js'
import { printJson } from '../output.js'
import { homeOption } from './options.js'

interface StatusPeers {
  connectedPeers: Array<{ peerId: string; addresses: string[] }>
}

/** `peer_list` when the mesh layer provides it, else connected peers with `peer_info`. */
export async function listPeers(client: Client): Promise<unknown> {
  const tools = (await client.listTools()).tools.map((tool) => tool.name)
  if (tools.includes('peer_list')) return callTool(client, 'peer_list', {})
  const status = (await callTool(client, 'mesh_status', {})) as StatusPeers
  const peers: unknown[] = []
  for (const { peerId } of status.connectedPeers) {
    peers.push(
      tools.includes('peer_info') ? await callTool(client, 'peer_info', { peer: peerId, ping: false }) : { peerId }
    )
  }
  return { peers, count: peers.length }
}

export function registerPeersCommand(program: Command): void {
  program
    .command('peers')
    .description("list the running node's peers (connections, tools, latency) as JSON")
    .addOption(homeOption())
    .action(async (opts: { home?: string }) => {
      printJson(await withApi(resolveHome(opts.home), listPeers))
    })
}
