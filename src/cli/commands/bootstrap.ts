import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { configPathFor, parseConfig, resolveHome, writeJsonFile } from '../../config/load.js'
import { bootstrapAddress } from '../../config/schema.js'
import { parseMultiaddr, peerIdOf } from '../../discovery/address.js'
import { BootstrapListError } from '../../discovery/errors.js'
import { errorMessage } from '../../util/errors.js'
import { notice } from '../../util/logger.js'
import { UsageError } from '../errors.js'
import { printJson } from '../output.js'
import { configOption, homeOption } from './options.js'

export const BOOTSTRAP_TRUST_WARNING =
  'bootstrap peers are trusted for discovery: they tell this node which peers exist, so only add peers you trust'

interface Target {
  home?: string
  config?: string
}

async function readDocument(path: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new BootstrapListError(`cannot read ${path}: ${errorMessage(err)} (run \`mcp-mesh init\` first)`)
  }
  try {
    const document = JSON.parse(text) as unknown
    if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new Error('not an object')
    return document as Record<string, unknown>
  } catch (err) {
    throw new BootstrapListError(`${path} is not a JSON object: ${errorMessage(err)}`)
  }
}

function listOf(document: Record<string, unknown>): string[] {
  const list = document.bootstrap
  return Array.isArray(list) ? list.filter((entry): entry is string => typeof entry === 'string') : []
}

async function update(
  opts: Target,
  change: (list: string[]) => string[]
): Promise<{ path: string; before: string[]; after: string[] }> {
  const path = configPathFor(resolveHome(opts.home), opts.config)
  const document = await readDocument(path)
  const before = listOf(document)
  const after = change([...before])
  const next = { ...document, bootstrap: after }
  parseConfig(next, path) // never write a config the node would refuse
  await writeJsonFile(path, next)
  return { path, before, after }
}

/** Does `entry` match an address or a PeerId given on the command line? */
function matches(entry: string, target: string): boolean {
  if (entry === target) return true
  try {
    return peerIdOf(parseMultiaddr(entry))?.toString() === target
  } catch {
    return false
  }
}

export function registerBootstrapCommand(program: Command): void {
  const bootstrap = program
    .command('bootstrap')
    .description('show or edit the bootstrap list in the config file (restart the node to apply)')

  bootstrap
    .command('list')
    .description('print the configured bootstrap peers')
    .addOption(homeOption())
    .addOption(configOption())
    .action(async (opts: Target) => {
      const path = configPathFor(resolveHome(opts.home), opts.config)
      printJson({ config: path, bootstrap: listOf(await readDocument(path)) })
    })

  bootstrap
    .command('add')
    .description('add bootstrap peers (/ip4, /ip6, /dns4, /dns6 or /dnsaddr multiaddrs ending in /p2p/<id>)')
    .argument('<multiaddr...>', 'addresses to add')
    .addOption(homeOption())
    .addOption(configOption())
    .action(async (addresses: string[], opts: Target) => {
      for (const address of addresses) {
        const checked = bootstrapAddress.safeParse(address)
        if (!checked.success) {
          throw new UsageError(`${address}: ${checked.error.issues.map((issue) => issue.message).join('; ')}`)
        }
      }
      const result = await update(opts, (list) => [
        ...list,
        ...addresses.filter((a, i) => !list.includes(a) && addresses.indexOf(a) === i)
      ])
      notice(`warning: ${BOOTSTRAP_TRUST_WARNING}`)
      notice(`updated ${result.path}; restart the node to apply`)
      printJson({
        config: result.path,
        added: result.after.filter((a) => !result.before.includes(a)),
        bootstrap: result.after
      })
    })

  bootstrap
    .command('rm')
    .description('remove bootstrap peers, by address or by PeerId (or all with --all)')
    .argument('[peer...]', 'addresses or PeerIds to remove')
    .option('--all', 'remove every bootstrap peer')
    .addOption(homeOption())
    .addOption(configOption())
    .action(async (targets: string[], opts: Target & { all?: boolean }) => {
      if (opts.all !== true && targets.length === 0) throw new UsageError('name the peers to remove, or pass --all')
      const result = await update(opts, (list) =>
        opts.all === true ? [] : list.filter((entry) => !targets.some((target) => matches(entry, target)))
      )
      const removed = result.before.filter((a) => !result.after.includes(a))
      if (removed.length === 0 && opts.all !== true) {
        throw new BootstrapListError(`none of ${targets.join(', ')} is in the bootstrap list of ${result.path}`)
      }
      notice(`updated ${result.path}; restart the node to apply`)
      printJson({ config: result.path, removed, bootstrap: result.after })
    })
}
