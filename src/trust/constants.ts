/**
 * Every inbound path by which a peer can make this node do something. Each
 * is listed, with its check, in docs/security.md; a new protocol or peer
 * method is not done until it has a path here and a line there.
 */
export const INBOUND_PATHS = [
  /** `/mcp+p2p` tools/list and tools/call. */
  'call',
  /** `/mcp+p2p` prompts, resources (list, read, templates, subscribe) and completion of exported servers. */
  'content',
  /** A task pushed to this node as a worker (tools/call with a lease in `_meta`). */
  'task-push',
  /** A task this node claimed from an owner's announcement and was granted. */
  'task-claim',
  /** The queue's owner-side peer methods: claim, heartbeat, complete, abort, attach. */
  'task-rpc',
  /** The worker-side peer method: an owner aborting a task it leased to us. */
  'task-abort',
  /** Task announcements on the task topic. */
  'gossip-task',
  /** Catalog adverts on the catalog topic. */
  'gossip-catalog'
] as const

export type InboundPath = (typeof INBOUND_PATHS)[number]

/** The outbound side: what this node sends to a peer (calls, tasks and their arguments). */
export const OUTBOUND_PATHS = ['call', 'task'] as const
export type OutboundPath = (typeof OUTBOUND_PATHS)[number]

/**
 * Peers the gate does not admit (outside trust.allowPeers) are still served,
 * but all of them together from one share of each node-wide cap: 1/STRANGERS_SHARE
 * of it, so strangers never fill a cap for admitted peers.
 */
export const STRANGERS_SHARE = 8

/** What all strangers together may take of a node-wide cap of `total` (at least one). */
export function strangersShare(total: number): number {
  return Math.max(1, Math.floor(total / STRANGERS_SHARE))
}
