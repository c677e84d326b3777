import type { Command } from 'commander'
import { resolveHome } from '../../config/load.js'
import { readSwarmKey, swarmKeyFingerprint, writeSwarmKey } from '../../discovery/swarm-key.js'
import { notice } from '../../util/logger.js'
import { printJson } from '../output.js'
import { homeOption } from './options.js'

export const SWARM_KEY_NOTICE =
  'private mesh: copy this file to <home>/swarm.key of every node of the mesh; nodes without it cannot connect (restart running nodes to apply)'

/** Writes a new swarm key; returns `{ path, fingerprint }`. */
export async function generateSwarmKeyFile(
  home: string,
  force: boolean
): Promise<{ path: string; fingerprint: string }> {
  const path = await writeSwarmKey(home, { force })
  const key = await readSwarmKey(home)
  return { path, fingerprint: key != null ? await swarmKeyFingerprint(key) : '' }
}

export function registerSwarmKeyCommand(program: Command): void {
  const swarmKey = program.command('swarm-key').description('manage the private-mesh pre-shared key (<home>/swarm.key)')
  swarmKey
    .command('gen')
    .description("write a new pre-shared key to <home>/swarm.key (kubo's format, mode 0600)")
    .addOption(homeOption())
    .option('--force', 'replace an existing key')
    .action(async (opts: { home?: string; force?: boolean }) => {
      const result = await generateSwarmKeyFile(resolveHome(opts.home), opts.force === true)
      notice(SWARM_KEY_NOTICE)
      printJson(result)
    })
}
