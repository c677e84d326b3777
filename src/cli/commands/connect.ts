import { type Command, InvalidArgumentError } from 'commander'
import { resolveHome } from '../../config/load.js'
import { parseDialTarget } from '../../discovery/address.js'
import { errorMessage } from '../../util/errors.js'
import { callTool, withApi } from '../api-client.js'
import { UsageError } from '../errors.js'
import { printJson } from '../output.js'
import { homeOption } from './options.js'

function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer')
  return n
}

export function registerConnectCommand(program: Command): void {
  program
    .command('connect')
    .description('connect the running node to a peer (multiaddr ending in /p2p/<id>, or a PeerId)')
    .argument('<multiaddr>', 'e.g. /ip4/192.168.1.5/tcp/4001/p2p/12D3KooW… or /dnsaddr/example.org/p2p/12D3KooW…')
    .addOption(homeOption())
    .option('--timeout <ms>', 'give up after this many milliseconds', positiveInt)
    .action(async (address: string, opts: { home?: string; timeout?: number }) => {
      try {
        parseDialTarget(address)
      } catch (err) {
        throw new UsageError(errorMessage(err))
      }
      const args: Record<string, unknown> = { address }
      if (opts.timeout != null) args.timeoutMs = opts.timeout
      printJson(await withApi(resolveHome(opts.home), async (client) => callTool(client, 'peer_connect', args)))
    })
}
