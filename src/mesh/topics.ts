/**
 * Gossipsub topics, versioned and namespaced by mesh name, so meshes that
 * share a DHT or a LAN never read each other's adverts or tasks.
 */
export const TOPIC_PREFIX = '/mcp-mesh'

/**
 * The topic of one kind of message in `mesh`. Services built on the mesh name
 * their own topics with it (the queue's task topic is `meshTopic(mesh, 'tasks')`).
 */
export function meshTopic(mesh: string, kind: string): string {
  return `${TOPIC_PREFIX}/${mesh}/${kind}/1.0.0`
}

export function catalogTopic(mesh: string): string {
  return meshTopic(mesh, 'catalog')
}

export function controlTopic(mesh: string): string {
  return meshTopic(mesh, 'control')
}

/**
 * Kinds of topic a node of a mesh uses, listed for diagnostics only: the
 * catalog's, the task queue's and the control topic. Only names: the mesh
 * neither reads nor writes the others.
 */
export const DIAGNOSTIC_TOPIC_KINDS: readonly string[] = ['catalog', 'tasks', 'control']

/** Every topic a node of `mesh` uses, for diagnostics (`doctor`). */
export function meshTopics(mesh: string, kinds: readonly string[] = DIAGNOSTIC_TOPIC_KINDS): string[] {
  return kinds.map((kind) => meshTopic(mesh, kind))
}

/**
 * The catalog's anti-entropy protocol of `mesh` (a stream protocol, not a
 * topic: digests and signed records are exchanged with one member at a time).
 */
export function catalogSyncProtocol(mesh: string): string {
  return `${TOPIC_PREFIX}/${mesh}/catalog-sync/1.0.0`
}
