import { TypedEventEmitter } from 'main-event'
import { DuplicateToolError } from './errors.js'
import { REQUIRED_META_FIELDS, type Runtime } from './meta.js'
import type { Tool } from './types.js'

export interface ToolRegistryChange {
  type: 'register' | 'unregister' | 'clear'
  names: string[]
}

export interface ToolRegistryEvents {
  change: CustomEvent<ToolRegistryChange>
}

export interface ToolRegistryStats {
  total: number
  byRuntime: Record<Runtime, number>
  byCategory: Record<string, number>
  exported: number
  notExported: number
}

export interface ToolComplianceEntry {
  name: string
  compliant: boolean
  issues: string[]
}

export interface ToolComplianceReport {
  total: number
  compliant: number
  /** Percentage of compliant tools, 0-100 (100 for an empty registry). */
  compliance: number
  tools: ToolComplianceEntry[]
}

/**
 * The node's own tools: built-ins, tools loaded from modules, and tools
 * imported from proxied MCP servers. Tools offered by peers live in the mesh
 * catalog, not here. Every change emits `change`, which the MCP front turns
 * into `notifications/tools/list_changed`.
 */
export class ToolRegistry extends TypedEventEmitter<ToolRegistryEvents> {
  readonly #tools = new Map<string, Tool>()

  register(tool: Tool): void {
    if (this.#tools.has(tool.name)) throw new DuplicateToolError(tool.name)
    this.#tools.set(tool.name, tool)
    this.#emit('register', [tool.name])
  }

  /** Registers several tools atomically: either all are added or none is. */
  registerAll(tools: Iterable<Tool>): void {
    const batch = [...tools]
    const seen = new Set<string>()
    for (const tool of batch) {
      if (this.#tools.has(tool.name) || seen.has(tool.name)) throw new DuplicateToolError(tool.name)
      seen.add(tool.name)
    }
    for (const tool of batch) this.#tools.set(tool.name, tool)
    if (batch.length > 0) this.#emit('register', [...seen])
  }

  get(name: string): Tool | undefined {
    return this.#tools.get(name)
  }

  has(name: string): boolean {
    return this.#tools.has(name)
  }

  list(): Tool[] {
    return [...this.#tools.values()]
  }

  get size(): number {
    return this.#tools.size
  }

  listByRuntime(runtime: Runtime): Tool[] {
    return this.list().filter((tool) => tool.meta.runtime === runtime)
  }

  listByCategory(category: string): Tool[] {
    return this.list().filter((tool) => tool.meta.category === category)
  }

  listExported(): Tool[] {
    return this.list().filter((tool) => tool.meta.export)
  }

  unregister(name: string): boolean {
    const removed = this.#tools.delete(name)
    if (removed) this.#emit('unregister', [name])
    return removed
  }

  /** Removes every tool matching `predicate` (all tools when omitted). */
  clear(predicate?: (tool: Tool) => boolean): number {
    const names = this.list()
      .filter((tool) => predicate?.(tool) ?? true)
      .map((tool) => tool.name)
    for (const name of names) this.#tools.delete(name)
    if (names.length > 0) this.#emit('clear', names)
    return names.length
  }

  stats(): ToolRegistryStats {
    const stats: ToolRegistryStats = {
      total: this.#tools.size,
      byRuntime: { local: 0, mesh: 0, auto: 0 },
      byCategory: {},
      exported: 0,
      notExported: 0
    }
    for (const tool of this.#tools.values()) {
      stats.byRuntime[tool.meta.runtime]++
      stats.byCategory[tool.meta.category] = (stats.byCategory[tool.meta.category] ?? 0) + 1
      if (tool.meta.export) stats.exported++
      else stats.notExported++
    }
    return stats
  }

  /**
   * Compliance of every tool with the project's metadata contract: a title, a
   * description, an output schema, explicitly declared category, priority,
   * timeout and retry policy, and no contradiction (a P2P-only tool cannot be
   * pinned to local execution).
   */
  validate(): ToolComplianceReport {
    const tools = this.list().map((tool): ToolComplianceEntry => {
      const issues: string[] = []
      if (tool.title == null || tool.title.trim() === '') issues.push('missing title')
      if (tool.description.trim().length < 10) issues.push('description is shorter than 10 characters')
      if (tool.outputSchema == null) issues.push('missing outputSchema')
      for (const field of REQUIRED_META_FIELDS) {
        if (!tool.declaredMeta.has(field)) issues.push(`meta.${field} is not declared`)
      }
      if (tool.meta.requiresP2P && tool.meta.runtime === 'local')
        issues.push("meta.requiresP2P contradicts runtime 'local'")
      if (tool.meta.retry.policy === 'none' && tool.meta.retry.maxAttempts > 1) {
        issues.push("meta.retry.maxAttempts > 1 has no effect with policy 'none'")
      }
      return { name: tool.name, compliant: issues.length === 0, issues }
    })
    const compliant = tools.filter((entry) => entry.compliant).length
    return {
      total: tools.length,
      compliant,
      compliance: tools.length === 0 ? 100 : Math.round((compliant / tools.length) * 10_000) / 100,
      tools
    }
  }

  #emit(type: ToolRegistryChange['type'], names: string[]): void {
    this.safeDispatchEvent('change', { detail: { type, names } })
  }
}
