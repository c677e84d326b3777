/**
 * Baseline for the mesh-call benchmark: a bare js-libp2p peer (tcp, noise,
 * yamux) answering length-prefixed echo requests on one protocol. Prints its
 * address on stdout and serves until killed. BENCH_ECHO_SPIN_US: time spent
 * busy before each answer (wake.ts: how a longer wait of the caller costs on
 * this machine); none by default.
 */
import { bareNode, serveRawEcho, serveUntilKilled } from './bare-node.js'

const node = await bareNode(true)
await serveRawEcho(node, BigInt(Math.round(Number(process.env.BENCH_ECHO_SPIN_US ?? 0) * 1000)))
serveUntilKilled(node)
