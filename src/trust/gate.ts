import type { MeshConfig } from '../config/schema.js'
import type { ToolMeta } from '../tools/meta.js'
import { meshLogger } from '../util/logger.js'
import { INBOUND_PATHS, type InboundPath, OUTBOUND_PATHS, type OutboundPath } from './constants.js'

const log = meshLogger('trust')

/** A gate's answer: allowed, or refused with a reason a peer (or model) can act on. */
export type Decision = { allowed: true } | { allowed: false; reason: string }

const ALLOWED: Decision = { allowed: true }

export interface TrustGateInit {
  export: MeshConfig['export']
  trust: MeshConfig['trust']
}

export interface TrustGateComponents {
  /** The node's tools, by name (only metadata is read). */
  tools: { get(name: string): { meta: Pick<ToolMeta, 'export'> } | undefined }
}

export type RefusalKind = 'denied' | 'busy' | 'rate-limited'

export interface TrustGateStats {
  /** Refusals by inbound path and kind. */
  inbound: Record<InboundPath, Record<RefusalKind, number>>
  /** Peers or tools the outbound allowlist kept this node from sending to. */
  outbound: Record<OutboundPath, number>
}

/**
 * The one place that answers "may peer P make this node do X" (and "may this
 * node send X to peer P"). Every inbound path asks it: `/mcp+p2p` calls, task
 * pushes, claimed tasks, the queue's peer methods and the gossip validators.
 *
 * The rules: a tool runs for a peer only if it is exported (default-deny:
 * its own `meta.export`, or config `export.tools`), the peer is in
 * `trust.allowPeers` when that list is set, and in `trust.tools[tool]` when
 * that list is set. Outbound, `trust.sendTo` (when set) lists the only peers
 * this node sends calls, tasks and their arguments to.
 */
export class TrustGate {
  readonly #init: TrustGateInit
  readonly #tools: TrustGateComponents['tools']
  readonly #allowPeers?: ReadonlySet<string>
  readonly #perTool: ReadonlyMap<string, ReadonlySet<string>>
  readonly #exported: ReadonlySet<string>
  readonly #sendTo?: ReadonlySet<string>
  readonly #stats: TrustGateStats

  constructor(init: TrustGateInit, components: TrustGateComponents) {
    this.#init = init
    this.#tools = components.tools
    this.#allowPeers = init.trust.allowPeers == null ? undefined : new Set(init.trust.allowPeers)
    this.#perTool = new Map(Object.entries(init.trust.tools).map(([tool, peers]) => [tool, new Set(peers)]))
    this.#exported = new Set(init.export.tools)
    this.#sendTo = init.trust.sendTo == null ? undefined : new Set(init.trust.sendTo)
    this.#stats = {
      inbound: Object.fromEntries(
        INBOUND_PATHS.map((path) => [path, { denied: 0, busy: 0, 'rate-limited': 0 }])
      ) as TrustGateStats['inbound'],
      outbound: Object.fromEntries(OUTBOUND_PATHS.map((path) => [path, 0])) as TrustGateStats['outbound']
    }
  }

  /** Whether peers may see and call `tool` at all (before any allowlist). */
  isExported(tool: string): boolean {
    const found = this.#tools.get(tool)
    if (found == null) return false
    return found.meta.export || this.#exported.has(tool)
  }

  /** Whether `peer` may talk to this node on any path (trust.allowPeers). */
  admits(peer: string): Decision {
    if (this.#allowPeers != null && !this.#allowPeers.has(peer)) {
      return { allowed: false, reason: `peer ${peer} is not in trust.allowPeers` }
    }
    return ALLOWED
  }

  /** Whether `peer` may make this node run `tool`: exported, and allowed by both allowlists. Counts nothing. */
  mayRun(peer: string, tool: string): Decision {
    if (!this.isExported(tool)) return { allowed: false, reason: `tool "${tool}" is not exported to peers` }
    const admitted = this.admits(peer)
    if (!admitted.allowed) return admitted
    const perTool = this.#perTool.get(tool)
    if (perTool != null && !perTool.has(peer)) {
      return { allowed: false, reason: `peer ${peer} is not allowed to call "${tool}"` }
    }
    return ALLOWED
  }

  /**
   * `mayRun` for an inbound request on `path`: a refusal is counted and
   * logged, so every path's denials show in `mesh_status` and `doctor`.
   */
  checkRun(path: InboundPath, peer: string, tool: string): Decision {
    const decision = this.mayRun(peer, tool)
    if (!decision.allowed) this.refused(path, 'denied', peer, decision.reason)
    return decision
  }

  /** `admits` for an inbound request on `path`, counted and logged when refused. */
  checkPeer(path: InboundPath, peer: string): Decision {
    const decision = this.admits(peer)
    if (!decision.allowed) this.refused(path, 'denied', peer, decision.reason)
    return decision
  }

  /** Whether this node may send calls, tasks or their arguments to `peer` (trust.sendTo). */
  maySendTo(peer: string): boolean {
    return this.#sendTo == null || this.#sendTo.has(peer)
  }

  /** `maySendTo`, counted when it keeps this node from sending on `path`. */
  checkSend(path: OutboundPath, peer: string): boolean {
    const allowed = this.maySendTo(peer)
    if (!allowed) this.#stats.outbound[path]++
    return allowed
  }

  /** Records a refusal made on `path` (by the gate or by a limit on that path). */
  refused(path: InboundPath, kind: RefusalKind, peer: string, reason: string): void {
    this.#stats.inbound[path][kind]++
    log('refused %s on %s from %s: %s', kind, path, peer, reason)
  }

  stats(): TrustGateStats {
    return {
      inbound: Object.fromEntries(
        Object.entries(this.#stats.inbound).map(([path, counts]) => [path, { ...counts }])
      ) as TrustGateStats['inbound'],
      outbound: { ...this.#stats.outbound }
    }
  }

  /** The policy in force, for status reports. */
  policy(): { exportTools: string[]; allowPeers?: number; perTool: number; sendTo?: number } {
    return {
      exportTools: [...this.#init.export.tools],
      allowPeers: this.#allowPeers?.size,
      perTool: this.#perTool.size,
      sendTo: this.#sendTo?.size
    }
  }
}

export function trustGate(init: TrustGateInit): (components: TrustGateComponents) => TrustGate {
  return (components) => new TrustGate(init, components)
}
