import { join } from 'node:path'
import { NODE_LOG_FILE } from '../../config/defaults.js'
import { type ConfigFlags, homeIsInitialized, initHome, type LoadedConfig, loadConfig } from '../../config/load.js'
import { warnIfExposed } from '../../identity/permissions.js'
import { createFront } from '../../mcp/front.js'
import { httpTokenPath } from '../../mcp/http-token.js'
import { StreamServerTransport } from '../../mcp/stream-server-transport.js'
import { deferredContent, type ToolView } from '../../mcp/view.js'
import type { MeshNode } from '../../node/mesh-node.js'
import { acquireRepoLock, type LockResult, lockHolder } from '../../node/repo-lock.js'
import { errorMessage, UNHANDLED_REJECTION_NOTICE } from '../../util/errors.js'
import { notice } from '../../util/logger.js'
import { PACKAGE_ROOT } from '../../util/package-root.js'
import { runBridge } from '../bridge.js'
import { EXIT_HOME_BUSY, LOCK_FROM_ENV, launchDetachedNode, relayLog, waitForApiSocket } from '../detach.js'

export interface StartOptions {
  home: string
  configFile?: string
  flags: ConfigFlags
  /** `daemon`: no stdio MCP, never stops because stdin closed. */
  daemon: boolean
  /** `start --foreground`: run the node in this process (as before detached nodes), not as a shared one. */
  foreground?: boolean
  /** `daemon --detached-for-home`: the node `start` launched; exits when idle (lifecycle.idleExitMs). */
  detachedForHome?: boolean
}

type HeldLock = Extract<LockResult, { acquired: true }>

const ATTACH_WAIT_MS = 20_000
/** Longest wait for a freshly launched node's API socket. */
const LAUNCH_WAIT_MS = 60_000
/** A detached node waits at least this long for its first client. */
const FIRST_CLIENT_WAIT_MS = 10_000
/** `MCP_MESH_FOREGROUND=1` is `start --foreground`. */
const FOREGROUND_ENV = 'MCP_MESH_FOREGROUND'
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
 * the home, `start` bridges this process's stdio to that node's API socket
 * instead of starting a second node on the same datastore and PeerId. The
 * first `start` of a home launches the node as a detached process and
 * bridges to it like every later client (docs/lifecycle.md), unless it runs
 * in the foreground (`--foreground`, `lifecycle.detach: false`, or a TTY).
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
  const detachedNode = options.daemon && options.detachedForHome === true
  const takeOverFrom = detachedNode ? Number(process.env[LOCK_FROM_ENV]) || undefined : undefined
  const lock = await acquireRepoLock(home, { takeOverFrom })
  if (!lock.acquired) {
    if (detachedNode) {
      notice(`a node is already running on ${home} (pid ${lock.holderPid}); this one exits`)
      return EXIT_HOME_BUSY
    }
    if (options.daemon || process.stdin.isTTY) {
      notice(`a node is already running on ${home} (pid ${lock.holderPid}); use \`mcp-mesh status --home ${home}\``)
      return 1
    }
    return attach(home, lock.holderPid)
  }
  const foreground =
    options.foreground === true || process.env[FOREGROUND_ENV] === '1' || !loaded.config.lifecycle.detach
  if (!options.daemon && process.stdin.isTTY !== true && !foreground) return startDetached(options, loaded, lock)
  return runNode(options, loaded, lock)
}

/** Runs the node in this process: `daemon`, a detached node, or `start` in the foreground. */
async function runNode(options: StartOptions, loaded: LoadedConfig, lock: HeldLock): Promise<number> {
  const { home } = options
  const detached = options.daemon && options.detachedForHome === true
  const idleExitMs = loaded.config.lifecycle.idleExitMs
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
  // A detached node stops a grace period after its last client left. Until
  // its first client (the launcher's bridge, polling for the socket) has
  // connected, it waits at least FIRST_CLIENT_WAIT_MS, however short the grace.
  let idleTimer: NodeJS.Timeout | undefined
  let hadClient = false
  const watchIdle = (): void => {
    if (!detached || node == null || !node.running) return
    clearTimeout(idleTimer)
    idleTimer = undefined
    if (node.apiSessionCount > 0) {
      hadClient = true
      return
    }
    const waitMs = hadClient ? idleExitMs : Math.max(idleExitMs, FIRST_CLIENT_WAIT_MS)
    idleTimer = setTimeout(() => {
      void shutdown(`no client for ${waitMs} ms`).then(exit)
    }, waitMs)
  }
  const onApiSessionsChanged = (): void => {
    maybeStopUnattended()
    watchIdle()
  }

  const { promise: exited, resolve: exit } = Promise.withResolvers<number>()
  // A detached node has no terminal: a hangup is not for it.
  for (const signal of detached ? (['SIGINT', 'SIGTERM'] as const) : (['SIGINT', 'SIGTERM', 'SIGHUP'] as const)) {
    process.on(signal, () => {
      void shutdown(signal).then(exit)
    })
  }
  if (detached) process.on('SIGHUP', () => {})

  // stdio is served before the libp2p stack is even loaded: initialize is
  // answered at once and tool requests wait (front.gate) until the node runs.
  const front = createFront()
  const { promise: nodeReady, resolve: nodeStarted, reject: nodeFailed } = Promise.withResolvers<MeshNode>()
  front.gate(nodeReady)
  const view: ToolView = {
    list: () => node!.localView.list(),
    describe: (name) => node!.localView.describe(name),
    // Not async: no promise of its own around the call's (one microtask hop less per call).
    call: (name, args, ctx) => node!.localView.call(name, args, ctx),
    // Requests wait for the node (front.gate) before they touch its content.
    content: () => deferredContent(() => node!.localView.content())
  }
  if (serveStdio) {
    // A 2025 client (initialize) or a 2026-07-28 one (server/discover, per-request _meta) alike.
    const session = front.serveStream(
      new StreamServerTransport(process.stdin, process.stdout),
      view,
      { kind: 'local' },
      () => {
        stdioOpen = false
        maybeStopUnattended()
      }
    )
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
  node = new MeshNodeClass({
    loaded,
    front,
    onApiSessionsChanged,
    lifecycle: detached
      ? { mode: 'detached', idleExitMs, logFile: join(home, NODE_LOG_FILE) }
      : { mode: options.daemon ? 'daemon' : 'foreground' }
  })
  try {
    await node.start()
    nodeStarted(node)
  } catch (err) {
    nodeFailed(err)
    await lock.release()
    await node.stop().catch(() => {})
    throw err
  }
  // stdin may have closed while the node was starting; a detached node may have no client yet.
  maybeStopUnattended()
  watchIdle()

  if (interactive) {
    printBanner(node)
  } else if (!serveStdio) {
    notice(
      `${detached ? 'detached node' : 'daemon'} running: peer ${node.peerId.toString()}, api ${node.apiPath}, pid ${process.pid}`
    )
  }
  if (!interactive && node.httpUrl != null) {
    notice(`http ${node.httpUrl} (${HTTP_TOKEN_HINT}; \`mcp-mesh http-token --home ${home}\` prints it)`)
  }
  return exited
}

/**
 * Bridges this process's stdio to the running node's API socket
 * (src/cli/bridge.ts). The node answers initialize itself: a node still
 * starting is waited for (its socket appears once it runs), as before.
 */
async function attach(home: string, holderPid: number): Promise<number> {
  exitOnSignals()
  const socket = await waitForApiSocket(home, Date.now() + ATTACH_WAIT_MS)
  if ('error' in socket) {
    notice(`node pid ${holderPid} holds ${home} but its API socket did not answer: ${socket.error}`)
    return 1
  }
  notice(`attached to the running node (pid ${(await lockHolder(home)) ?? holderPid}) on ${home}`)
  return runBridge({ input: process.stdin, output: process.stdout, connect: async () => socket })
}

/**
 * The first client of a home: launches the node as a detached process, then
 * bridges to it like every other client. Quitting this client (stdin closed,
 * SIGTERM, SIGKILL) only ends this bridge.
 */
async function startDetached(options: StartOptions, loaded: LoadedConfig, lock: HeldLock): Promise<number> {
  const { home } = options
  exitOnSignals()
  const node = await launchDetachedNode(home, options.configFile, options.flags)
  notice(
    `started the node for ${home} as pid ${node.pid} (log ${node.logFile}); it serves every client of this home and exits ${loaded.config.lifecycle.idleExitMs} ms after the last one leaves`
  )
  return runBridge({
    input: process.stdin,
    output: process.stdout,
    connect: async () => {
      let socket = await waitForApiSocket(home, Date.now() + LAUNCH_WAIT_MS, node.exited)
      relayLog(await node.newLog())
      // Another start launched its node first: attach to that one.
      if ('error' in socket && (await Promise.race([node.exited, Promise.resolve(undefined)])) === EXIT_HOME_BUSY) {
        socket = await waitForApiSocket(home, Date.now() + ATTACH_WAIT_MS)
      }
      if ('error' in socket) {
        await lock.release()
        notice(`the node did not start: ${socket.error}; see ${node.logFile}`)
        return undefined
      }
      return socket
    }
  })
}

/** A bridge has nothing to clean up: a signal ends it at once (the node keeps running). */
function exitOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => process.exit(0))
}

function printBanner(node: MeshNode): void {
  const addresses = node.libp2p.getMultiaddrs().map((ma) => ma.toString())
  const tcp = addresses.filter((a) => a.includes('/tcp/') && !a.includes('/ws'))
  const bootstrapAddress =
    tcp.find((a) => !a.startsWith('/ip4/127.') && !a.startsWith('/ip6/::1')) ?? tcp[0] ?? addresses[0] ?? '(none)'
  const bin = join(PACKAGE_ROOT ?? '.', 'bin', 'mcp-mesh.js')
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
