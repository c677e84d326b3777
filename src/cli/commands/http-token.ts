import type { Command } from 'commander'
import { resolveHome } from '../../config/load.js'
import { loadHttpToken } from '../../mcp/http-token.js'
import { notice } from '../../util/logger.js'
import { homeOption } from './options.js'

/**
 * `mcp-mesh http-token`: prints the bearer token of the Streamable HTTP
 * endpoint (`<home>/http.token`), creating it when the home has none yet, so
 * a client can be configured before the node first runs with `--http`.
 * stdout carries the token alone, for `$(mcp-mesh http-token)`.
 */
export function registerHttpTokenCommand(program: Command): void {
  program
    .command('http-token')
    .description(
      'print the bearer token for the Streamable HTTP endpoint (--http), creating <home>/http.token (mode 0600) if needed'
    )
    .addOption(homeOption())
    .action(async (opts: { home?: string }) => {
      const { token, path, created } = await loadHttpToken(resolveHome(opts.home))
      if (created) notice(`created ${path}`)
      notice('send it as the header  Authorization: Bearer <token>')
      process.stdout.write(`${token}\n`)
    })
}
