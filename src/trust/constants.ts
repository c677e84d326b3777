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
