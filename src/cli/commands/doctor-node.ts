/**
 * Doctor checks about the node's process (how it runs, its listen ports) and
 * its observability endpoints, read from `mesh_status`.
 */

function duration(value: number | undefined): string {
  if (value == null) return '?'
  return value >= 10_000 ? `${Math.round(value / 1000)} s` : `${Math.round(value)} ms`
}

export interface NodeProcessStatus {
  pid: number
  mode: 'foreground' | 'daemon' | 'detached'
  idleExitMs?: number
  logFile?: string
  listenFallbacks: Array<{ configured: string; takenPort: number; replacement: string; port?: number }>
}

/** The `process` check: how the node runs. */
export function processCheck(proc: NodeProcessStatus): { summary: string; details: string[] } {
  const details = proc.logFile != null ? [`log: ${proc.logFile}`] : []
  switch (proc.mode) {
    case 'detached':
      return {
        summary: `detached node, pid ${proc.pid}: shared by this home's clients, exits ${duration(proc.idleExitMs)} after the last one leaves`,
        details
      }
    case 'daemon':
      return { summary: `daemon, pid ${proc.pid}: runs until stopped`, details }
    default:
      return { summary: `runs inside its first client (pid ${proc.pid}) and stops with it`, details }
  }
}

/**
 * URLs of the node's metrics and dashboard, read defensively wherever the
 * node reports them (`endpoints`, then the top level, `mcp`, `http` or a
 * subsystem): a string URL, an object with a `url`, or a list of either.
 * Nodes without them report nothing.
 */
export function observabilityUrls(status: unknown): Array<{ name: string; url: string }> {
  const found: Array<{ name: string; url: string }> = []
  const add = (name: string, value: unknown): void => {
    const url = typeof value === 'string' ? value : (value as { url?: unknown } | null)?.url
    if (typeof url !== 'string' || !/^https?:\/\//.test(url) || found.some((f) => f.url === url)) return
    found.push({ name, url })
  }
  const scan = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return
    for (const name of ['metrics', 'dashboard'] as const) {
      const entry = (value as Record<string, unknown>)[name]
      for (const item of Array.isArray(entry) ? entry : [entry]) add(name, item)
    }
  }
  const root = status as Record<string, unknown> | null
  scan(root?.endpoints)
  scan(root)
  scan(root?.mcp)
  scan(root?.http)
  const subsystems = root?.subsystems
  if (typeof subsystems === 'object' && subsystems !== null) for (const value of Object.values(subsystems)) scan(value)
  return found
}
