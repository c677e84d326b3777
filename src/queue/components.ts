import type { CallToolResult } from '@modelcontextprotocol/server'
import type { GossipSub } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { MeshConfig } from '../config/schema.js'
import type { PeerMethod } from '../mcp/front.js'
import type { MeshPort } from '../mesh/index.js'
import type { TrustGate } from '../trust/index.js'
import type { WorkerHost } from './worker/task-worker.js'

/** What the queue needs of the mesh: who offers what, when that changes, a pooled MCP client per peer. */
export type { MeshPort }

export interface QueueInit {
  /** The queue's config (syncWrites may be left out: off; maxFinishedTasks: DEFAULT_MAX_FINISHED_TASKS). */
  config: Omit<MeshConfig['queue'], 'syncWrites' | 'maxFinishedTasks'> & {
    syncWrites?: boolean
    maxFinishedTasks?: number
  }
  /** The mesh's name: namespaces the task topic and announcements. */
  meshName: string
}

/** The gossipsub calls the queue makes: the task topic, its validator, announcements. */
export type QueuePubSub = Pick<
  GossipSub,
  'topicValidators' | 'subscribe' | 'unsubscribe' | 'publish' | 'addEventListener' | 'removeEventListener'
>

/** Registers the queue's peer-only JSON-RPC methods on `/mcp+p2p` (McpFront.addPeerMethod/removePeerMethod). */
export interface PeerMethods {
  add(method: PeerMethod): void
  remove(name: string): void
}

/** Runs a task claimed from an owner inside the owner's trace (the node's tracing), as a pushed task's call is. */
export type TracedRun = (
  call: { tool: string; owner: string; trace?: Record<string, string> },
  run: () => Promise<CallToolResult>
) => Promise<CallToolResult>

export interface QueueComponents {
  peerId: PeerId
  datastore: Datastore
  pubsub: QueuePubSub
  workerHost: WorkerHost
  peerMethods: PeerMethods
  mesh: MeshPort
  /** The node's authorization gate: every inbound queue path asks it, and the outbound allowlist (trust.sendTo). */
  gate: QueueGate
  /** Optional: the node's tracing for claimed tasks (absent: they run untraced). */
  traced?: TracedRun
}

/** The trust gate's calls the queue makes. */
export type QueueGate = Pick<TrustGate, 'admits' | 'checkRun' | 'checkPeer' | 'maySendTo' | 'checkSend' | 'refused'>
