import type { Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio'
import { type ConfigFlags, homeIsInitialized, initHome, loadConfig } from '../../config/load.js'
import { warnIfExposed } from '../../identity/permissions.js'
import { createFront } from '../../mcp/front.js'
import { httpTokenPath } from '../../mcp/http-token.js'
import { deferredContent, type ToolView } from '../../mcp/view.js'
import type { MeshNode } from '../../node/mesh-node.js'
import { acquireRepoLock } from '../../node/repo-lock.js'
import { errorMessage, UNHANDLED_REJECTION_NOTICE } from '../../util/errors.js'
import { notice } from '../../util/logger.js'
import { openApiSocket } from '../api-client.js'
import { NodeNotRunningError } from '../errors.js'

export interface StartOptions {
  home: string
  configFile?: string
  flags: ConfigFlags
  /** `daemon`: no stdio MCP, never stops because stdin closed. */
  daemon: boolean
}

const ATTACH_WAIT_MS = 20_000
const HTTP_TOKEN_HINT = 'clients send Authorization: Bearer <token>'

/**
 * A node's code paths are driven by remote peers: a promise rejection nobody
 * handled (always a bug) must not let one peer stop the node for everybody
 * (Node's default is to exit). It is reported loudly on stderr instead, with
 * its stack, and the node keeps serving.
 */
function reportUnhandledRejections(): void {
  process.on('unhandledRejection', (reason) => {
    const detail = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)
    notice(`${UNHANDLED_REJECTION_NOTICE} (the node keeps running): ${detail}`)
  })
}
/** Longest wait for the stdio client's initialize before loading the node anyway. */
const INITIALIZE_GRACE_MS = 500

/**
 * `start` and `daemon`. One node per home: when another process already owns
 * the home, `start` attaches this process's stdio to that node's API socket
 * instead of starting a second node on the same datastore and PeerId.
 */
export async function runStart(options: StartOptions): Promise<number> {
  const { home } = options
  if (!(await homeIsInitialized(home, options.configFile))) {
    const init = await initHome(home, { configFile: options.configFile })
    notice(`initialised ${home} (peer ${init.identity.peerId})`)
  }
  const loaded = await loadConfig(home, { configFile: options.configFile, flags: options.flags })
  // The config file holds the identity's private key.
  await warnIfExposed(loaded.configPath)
  const lock = await acquireRepoLock(home)
  if (!lock.acquired) {
    if (options.daemon || process.stdin.isTTY) {
      notice(`a node is already running on ${home} (pid ${lock.holderPid}); use \`mcp-mesh status --home ${home}\``)
      return 1
    }
    return attach(home, lock.holderPid)
  }

  reportUnhandledRejections()

  const interactive = process.stdin.isTTY === true
  const serveStdio = !options.daemon && !interactive
  let stdioOpen = serveStdio
  let shuttingDown: Promise<number> | undefined
  let node: MeshNode | undefined

  const shutdown = async (reason: string): Promise<number> => {
    shuttingDown ??= (async () => {
      notice(`stopping (${reason})`)
      try {
        await node?.stop()
        return 0
      } catch (err) {
        notice(`stop failed: ${errorMessage(err)}`)
        return 1
      } finally {
        await lock.release()
      }
    })()
    return shuttingDown
  }
  // When the MCP client has gone and no other client is attached, stop.
  const maybeStopUnattended = (): void => {
    if (!serveStdio || stdioOpen || node == null || !node.running) return
    if (node.apiSessionCount === 0) void shutdown('stdin closed and no client attached').then(exit)
  }

  const { promise: exited, resolve: exit } = Promise.withResolvers<number>()
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      void shutdown(signal).then(exit)
    })
  }

  // stdio is served before the libp2p stack is even loaded: initialize is
  // answered at once and tool requests wait (front.gate) until the node runs.
  const front = createFront()
  const { promise: nodeReady, resolve: nodeStarted, reject: nodeFailed } = Promise.withResolvers<MeshNode>()
  front.gate(nodeReady)
  const view: ToolView = {
    list: () => node!.localView.list(),
    describe: (name) => node!.localView.describe(name),
    call: async (name, args, ctx) => node!.localView.call(name, args, ctx),
    // Requests wait for the node (front.gate) before they touch its content.
    content: () => deferredContent(() => node!.localView.content())
  }
  if (serveStdio) {
    // A 2025 client (initialize) or a 2026-07-28 one (server/discover, per-request _meta) alike.
    const session = front.serveStream(new StdioServerTransport(), view, { kind: 'local' }, () => {
      stdioOpen = false
      maybeStopUnattended()
    })
    // Loading libp2p blocks the event loop for a few hundred ms; let the
    // client's opening request (usually already waiting on stdin) be answered first.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, INITIALIZE_GRACE_MS)
      void session.opened.then(() => {
        clearTimeout(timer)
        // The opening request is answered on a later tick: give it one.
        setImmediate(resolve)
      })
    })
  }

  const { MeshNode: MeshNodeClass } = await import('../../node/mesh-node.js')
  node = new MeshNodeClass({ loaded, front, onApiSessionsChanged: () => maybeStopUnattended() })
  try {
    await node.start()
    nodeStarted(node)
  } catch (err) {
    nodeFailed(err)
    await lock.release()
    await node.stop().catch(() => {})
    throw err
  }
  // stdin may have closed while the node was starting.
  maybeStopUnattended()

  if (interactive) {
    printBanner(node)
  } else if (!serveStdio) {
    notice(`daemon running: peer ${node.peerId.toString()}, api ${node.apiPath}`)
  }
  if (!interactive && node.httpUrl != null) {
    notice(`http ${node.httpUrl} (${HTTP_TOKEN_HINT}; \`mcp-mesh http-token --home ${home}\` prints it)`)
  }
  return exited
}

/** Pipes this process's stdio to the running node's API socket, byte for byte. */
async function attach(home: string, holderPid: number): Promise<number> {
  const deadline = Date.now() + ATTACH_WAIT_MS
  let socket: Socket | undefined
  let delay = 25
  // The owner may still be starting: its socket appears once it is ready.
  while (socket == null) {
    try {
      socket = await openApiSocket(home)
    } catch (err) {
      if (!(err instanceof NodeNotRunningError) || Date.now() > deadline) {
        notice(`node pid ${holderPid} holds ${home} but its API socket did not answer: ${errorMessage(err)}`)
        return 1
      }
      await new Promise((resolve) => setTimeout(resolve, delay))
      delay = Math.min(delay * 2, 500)
    }
  }
  notice(`attached to the running node (pid ${holderPid}) on ${home}`)
  const connected = socket
  return new Promise<number>((resolve) => {
    process.stdin.pipe(connected)
    connected.pipe(process.stdout)
    process.stdin.on('end', () => connected.end())
    connected.on('close', () => {
      process.stdin.unpipe(connected)
      process.stdin.pause()
      resolve(0)
    })
    connected.on('error', () => resolve(1))
  })
}

function printBanner(node: MeshNode): void {
  const addresses = node.libp2p.getMultiaddrs().map((ma) => ma.toString())
  const tcp = addresses.filter((a) => a.includes('/tcp/') && !a.includes('/ws'))
  const bootstrapAddress =
    tcp.find((a) => !a.startsWith('/ip4/127.') && !a.startsWith('/ip6/::1')) ?? tcp[0] ?? addresses[0] ?? '(none)'
  const bin = fileURLToPath(new URL('../../../../bin/mcp-mesh.js', import.meta.url))
  const snippet = {
    mcpServers: { 'mcp-mesh': { command: bin, args: ['start', '--home', node.home] } }
  }
  const lines = [
    '',
    `  mcp-mesh node running (mesh "${node.config.mesh.name}")`,
    `  peer id    ${node.peerId.toString()}`,
    '  addresses',
    ...addresses.map((a) => `    ${a}`),
    `  bootstrap  ${bootstrapAddress}`,
    '             (other nodes join with: mcp-mesh start --bootstrap <this address>)',
    `  api        ${node.apiPath}`,
    ...(node.httpUrl != null
      ? [
          `  http       ${node.httpUrl}`,
          `             (${HTTP_TOKEN_HINT}; the token is in ${httpTokenPath(node.home)},`,
          `             printed by: mcp-mesh http-token --home ${node.home})`
        ]
      : []),
    '',
    '  claude_desktop_config.json:',
    ...JSON.stringify(snippet, null, 2)
      .split('\n')
      .map((line) => `    ${line}`),
    '',
    '  Ctrl-C to stop.',
    ''
  ]
  process.stderr.write(`${lines.join('\n')}\n`)
}
