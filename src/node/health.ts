import type { Libp2p } from 'libp2p'
import type { Datastore } from 'interface-datastore'
import { Key } from 'interface-datastore'
import type { MeshServices } from '../interface/libp2p.js'
import type { NodeSubsystem } from '../interface/subsystem.js'
import type { MeshHealth } from '../tools/builtin/node-info.js'
import type { ToolRegistry } from '../tools/registry.js'
import type { ServerProxy } from '../tools/server-proxy.js'
import { errorMessage } from '../util/errors.js'

/** What `mesh_health` and `doctor` check, as the node holds it. */
export interface HealthSources {
  libp2p: Libp2p<MeshServices>
  datastore: Datastore
  registry: Pick<ToolRegistry, 'validate' | 'get'>
  servers: readonly Pick<ServerProxy, 'status'>[]
  subsystems: readonly NodeSubsystem[]
  /** The MCP front's sessions and endpoints, in words. */
  mcp: string
  /** Where metrics are served and what tracing did, in words. */
  observability: string
}

/**
 * The node's health: libp2p, a datastore write and delete, the DHT, pubsub,
 * MCP, the tools' metadata, observability, each shared MCP server and each
 * subsystem that reports health. Healthy when every check is.
 */
export async function nodeHealth(sources: HealthSources, signal: AbortSignal): Promise<MeshHealth> {
  const { libp2p, datastore, registry } = sources
  const checks: MeshHealth['checks'] = []
  checks.push({
    subsystem: 'libp2p',
    ok: libp2p.status === 'started',
    detail: `${libp2p.status}, ${libp2p.getMultiaddrs().length} addresses, ${libp2p.getConnections().length} connections`
  })
  try {
    const probe = new Key(`/mcp-mesh/health/${Date.now()}`)
    await datastore.put(probe, new Uint8Array([1]), { signal })
    await datastore.delete(probe, { signal })
    checks.push({ subsystem: 'datastore', ok: true, detail: 'read/write ok' })
  } catch (err) {
    checks.push({ subsystem: 'datastore', ok: false, detail: errorMessage(err) })
  }
  checks.push({ subsystem: 'dht', ok: true, detail: `mode ${libp2p.services.dht.getMode()}` })
  checks.push({
    subsystem: 'pubsub',
    ok: true,
    detail: `${libp2p.services.pubsub.getTopics().length} topics subscribed`
  })
  checks.push({ subsystem: 'mcp', ok: true, detail: sources.mcp })
  const compliance = registry.validate()
  const offenders = compliance.tools.filter((tool) => !tool.compliant)
  checks.push({
    subsystem: 'tools',
    // Proxied servers' tools carry whatever metadata their config gives them; only our own must comply.
    ok: offenders.every((tool) => registry.get(tool.name)?.source.kind === 'server'),
    detail: `${compliance.total} tools, metadata compliance ${compliance.compliance}%${
      offenders.length > 0
        ? `; not compliant: ${offenders.map((t) => `${t.name} (${t.issues.join(', ')})`).join('; ')}`
        : ''
    }`
  })
  checks.push({ subsystem: 'observability', ok: true, detail: sources.observability })
  for (const proxy of sources.servers) {
    const status = proxy.status()
    checks.push({
      subsystem: `server:${status.name}`,
      ok: status.state === 'running',
      detail: `${status.state}, ${status.tools} tools${status.lastError != null ? `, last error: ${status.lastError}` : ''}`
    })
  }
  for (const subsystem of sources.subsystems) {
    if (subsystem.health == null) continue
    const result = await subsystem.health(signal).catch((err: unknown) => ({ ok: false, detail: errorMessage(err) }))
    checks.push({ subsystem: subsystem.name, ...result })
  }
  return { healthy: checks.every((check) => check.ok), checks }
}
