/**
 * Test helpers for mcp-mesh. Integration specs start real `mcp-mesh`
 * processes (always on 127.0.0.1 with mDNS off) and drive them with the real
 * MCP SDK client; everything they start is torn down by `cleanup()`.
 *
 * @example
 * import { afterEach, expect, it } from 'vitest'
 * import { cleanup, createHome, spawnNode, tcpAddress, waitFor } from '../helpers/index.js'
 *
 * afterEach(cleanup)
 *
 * it('two nodes connect', async () => {
 *   const a = await spawnNode({ home: (await createHome()).dir })
 *   const statusA = await a.status()
 *   const b = await spawnNode({ home: (await createHome()).dir, args: ['--bootstrap', tcpAddress(statusA)] })
 *   await waitFor(async () => (await b.status()).connectedPeers.some((p) => p.peerId === statusA.peerId))
 * })
 *
 * @module
 */
export { cleanup, track, trackPid, untrackPid } from './cleanup.js'
export { type CliResult, parseJson, type RunCliOptions, runCli } from './cli.js'
export { connectApi, type DaemonProcess, type StartDaemonOptions, socketAccepts, startDaemon } from './daemon.js'
export { rejectionOf, thrownBy } from './errors.js'
export { promotedBy, promotionInChild } from './gc.js'
export { type CreateHomeOptions, createHome, createTempDir, mergeJson, modernServer, type TestHome } from './home.js'
export {
  type ExitInfo,
  type MeshHealth,
  type MeshStatus,
  type NodeProcess,
  type SpawnNodeOptions,
  spawnNode,
  tcpAddress
} from './node.js'
export { type RawPeerOptions, rawPeer } from './peer.js'
export { collectProgress, type ProgressCollector } from './progress.js'
export { childPids, commandLine, isAlive } from './process.js'
export { BIN_PATH, EVERYTHING_SERVER, FIXTURES_DIR, LOOPBACK_ARGS, NODE_BIN, REPO_ROOT } from './paths.js'
export { type RecordingContext, resultText, testContext, testTool } from './tools.js'
export { WaitTimeoutError, type WaitForOptions, waitFor, withTimeout } from './wait.js'
