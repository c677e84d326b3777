/**
 * Gossipsub topics, versioned and namespaced by mesh name, so meshes that
 * share a DHT or a LAN never read each other's adverts or tasks.
 */
export const TOPIC_PREFIX = '/mcp-mesh'

export function catalogTopic(mesh: string): string {
  return `${TOPIC_PREFIX}/${mesh}/catalog/1.0.0`
}

export function taskTopic(mesh: string): string {
  return `${TOPIC_PREFIX}/${mesh}/tasks/1.0.0`
}

export function controlTopic(mesh: string): string {
  return `${TOPIC_PREFIX}/${mesh}/control/1.0.0`
}

/** Every topic a node of `mesh` uses, for diagnostics (`doctor`). */
export function meshTopics(mesh: string): string[] {
  return [catalogTopic(mesh), taskTopic(mesh), controlTopic(mesh)]
}
