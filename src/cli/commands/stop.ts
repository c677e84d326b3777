import type { Command } from 'commander'
import { resolveHome } from '../../config/load.js'
import { isAlive, lockHolder } from '../../node/repo-lock.js'
import { notice } from '../../util/logger.js'
import { NodeNotRunningError } from '../errors.js'
import { homeOption } from './options.js'

/** Longest wait for the node to exit after SIGTERM. */
const STOP_WAIT_MS = 20_000

/**
 * `mcp-mesh stop`: stops the home's node (detached, daemon or foreground)
 * with SIGTERM, as its owner would, and waits for it to exit. Every client
 * bridged to it is disconnected.
 */
export async function stopNode(home: string): Promise<number> {
  const pid = await lockHolder(home)
  if (pid == null || !isAlive(pid)) throw new NodeNotRunningError(home)
  process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + STOP_WAIT_MS
  let delay = 10
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      notice(`node pid ${pid} did not exit within ${STOP_WAIT_MS} ms of SIGTERM`)
      return 1
    }
    await new Promise((resolve) => setTimeout(resolve, delay))
    delay = Math.min(delay * 2, 100)
  }
  notice(`stopped the node on ${home} (pid ${pid})`)
  return 0
}

export function registerStopCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('stop')
    .description("stop the home's running node (SIGTERM) and wait for it to exit; its clients are disconnected")
    .addOption(homeOption())
    .action(async (opts: { home?: string }) => setExit(await stopNode(resolveHome(opts.home))))
}
