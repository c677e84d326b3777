/**
 * The speed bench's baselines, measured in the same rounds as the nodes:
 *  - the floor: bare js-libp2p request/response between two processes
 *    (raw-echo-peer.js, raw-echo-client.js), one reused stream and 64;
 *  - the ideal remote path: the same SDK client -> a bare stdio forwarder
 *    (ideal-proxy.js) -> one libp2p stream -> a bare JSON-RPC echo peer
 *    (ideal-peer.js). It does none of a node's per-call work, so it bounds
 *    any design of the mesh path from below on this machine.
 */
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Client } from '@modelcontextprotocol/client'
import { NODE, ROOT } from '../foundation/paths.js'
import { connectStdioWithPid } from '../foundation/processes.js'

export interface Floor {
  label: string
  /** The echo peer's and the client's pids (the floor's CPU per call). */
  pids: number[]
  one: (n: number) => Promise<number[]>
  many: (total: number) => Promise<number>
  stop: () => Promise<void>
}

/** Another echo peer for the floor's client (wake.ts): its script in this checkout's dist/bench/mesh, its environment. */
export interface FloorPeer {
  script?: string
  env?: Record<string, string>
}

/**
 * The bare js-libp2p floor with `root`'s packages: the echo peer and the
 * client each in a child process (raw-echo-peer.js, raw-echo-client.js,
 * copied into that checkout's dist/ when it lacks them).
 */
export async function startFloor(label: string, root: string, peerOf: FloorPeer = {}): Promise<Floor> {
  const dir = join(root, 'dist', 'bench', 'mesh')
  if (root !== ROOT) {
    mkdirSync(dir, { recursive: true })
    for (const file of ['raw-echo-peer.js', 'raw-echo-client.js', 'bare-node.js', 'constants.js']) {
      copyFileSync(join(ROOT, 'dist', 'bench', 'mesh', file), join(dir, file))
    }
  }
  const peer = spawn(NODE, [join(dir, peerOf.script ?? 'raw-echo-peer.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...peerOf.env }
  })
  const address = await new Promise<string>((resolve) => {
    peer.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()))
  })
  const client = spawn(NODE, [join(dir, 'raw-echo-client.js'), address], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: client.stdout })[Symbol.asyncIterator]()
  const next = async (): Promise<string> => {
    const line = await lines.next()
    if (line.done === true) throw new Error('floor client exited')
    return line.value
  }
  await next() // ready
  const ask = async (command: string): Promise<Record<string, unknown>> => {
    client.stdin.write(`${command}\n`)
    return JSON.parse(await next()) as Record<string, unknown>
  }
  return {
    label,
    pids: [peer.pid!, client.pid!],
    one: async (n) => (await ask(`seq ${n}`)).samples as number[],
    many: async (total) => (await ask(`many ${total}`)).rate as number,
    stop: async () => {
      client.stdin.end()
      peer.kill('SIGTERM')
    }
  }
}

export function floorRoots(): Array<{ label: string; root: string }> {
  const raw = process.env.BENCH_SPEED_FLOORS
  if (raw == null || raw === '') return [{ label: 'floor', root: ROOT }]
  return raw.split(',').map((entry) => {
    const [label, root] = entry.split('=')
    if (label == null || root == null) throw new Error(`BENCH_SPEED_FLOORS: bad entry ${entry}`)
    return { label: `floor-${label}`, root }
  })
}

export interface Ideal {
  client: Client
  /** The forwarder's and the echo peer's pids (as A and B of the remote path). */
  pids: [number, number]
  stop: () => void
}

/** The ideal remote path (see the module's comment), with this checkout's packages. */
export async function startIdeal(): Promise<Ideal> {
  const dir = join(ROOT, 'dist', 'bench', 'mesh')
  const peer = spawn(NODE, [join(dir, 'ideal-peer.js')], { stdio: ['ignore', 'pipe', 'inherit'] })
  const address = await new Promise<string>((resolve, reject) => {
    peer.once('exit', (code) => reject(new Error(`ideal peer exited ${code}`)))
    createInterface({ input: peer.stdout }).once('line', resolve)
  })
  const { client, pid } = await connectStdioWithPid({
    label: 'ideal forwarder',
    command: NODE,
    args: [join(dir, 'ideal-proxy.js'), address]
  })
  return {
    client,
    pids: [pid, peer.pid!],
    stop: () => {
      peer.kill('SIGTERM')
    }
  }
}
